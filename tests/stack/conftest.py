"""A local S3 server for the stack tests, and ZenML state of their own.

Stack switching changes ZenML's global config, so these tests never use the session's
store: each module gets a fresh ZENML_CONFIG_PATH, passed to the `run.py` subprocesses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.s3_server import HOST, LOCAL_CREDENTIALS, start
from tests.helpers import free_port


@dataclass
class S3Server:
    endpoint: str
    bucket: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]


def start_s3_server(bucket: str) -> tuple[S3Server, object]:
    port = free_port()
    return S3Server(f"http://{HOST}:{port}", bucket), start(port, bucket)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server, process = start_s3_server("iris-tests")
    yield server
    process.terminate()
    process.wait()


def isolated_env(folder: Path) -> dict[str, str]:
    """The test session's environment with its own ZenML state and no AWS defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRIS_"))}
    env.update(
        ZENML_CONFIG_PATH=str(folder / "zenml"),
        BENTOML_HOME=str(folder / "bentoml"),
        AWS_CONFIG_FILE=str(folder / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "no-aws-credentials"),
        IRIS_STACK_SETTINGS=str(folder / "no-stack-settings.yaml"),
    )
    return env
