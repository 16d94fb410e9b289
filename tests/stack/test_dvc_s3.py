"""DVC's s3 remote against a local S3 server: push, lose data and cache, pull, same bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stack.s3_server import LOCAL_CREDENTIALS
from tests.stack.conftest import S3Server
from tests.test_dvc import dvc, project, run  # noqa: F401  (the fixture: a fresh copy of the project)

pytestmark = pytest.mark.slow


def test_push_and_pull_through_the_s3_remote(
    project: Path,  # noqa: F811
    s3_server: S3Server,
):
    assert "s3" in dvc("remote", "list", cwd=project)
    # What `make dvc-remote-s3` does with IRIS_S3_BUCKET and IRIS_S3_ENDPOINT_URL.
    dvc("remote", "modify", "--local", "s3", "url", f"s3://{s3_server.bucket}/dvc", cwd=project)
    dvc("remote", "modify", "--local", "s3", "endpointurl", s3_server.endpoint, cwd=project)
    # Moto's placeholder credentials, in the project's untracked local config.
    dvc(
        "remote",
        "modify",
        "--local",
        "s3",
        "access_key_id",
        LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        cwd=project,
    )
    dvc(
        "remote",
        "modify",
        "--local",
        "s3",
        "secret_access_key",
        LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        cwd=project,
    )
    dvc("remote", "modify", "--local", "s3", "region", "us-east-1", cwd=project)

    run("make", "-o", "install", "data", cwd=project)  # a fresh clone: Iris bootstrapped
    raw = project / "data" / "raw" / "iris.csv"
    original = raw.read_bytes()
    dvc("push", "-r", "s3", cwd=project)
    assert s3_server.keys("dvc/"), "nothing landed in the bucket"

    raw.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    dvc("pull", "-r", "s3", cwd=project)
    assert raw.read_bytes() == original
