"""The s3 stack for real: a moto S3 server, ZenML's S3 artifact store, `run.py` as users type it."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli, training_config
from tests.stack.conftest import S3Server, isolated_env, start_s3_server

pytestmark = pytest.mark.slow

# Moto takes any credentials: these make sure a real-looking secret never shows up.
ACCESS_KEY = "AKIAIRISTESTKEY12345"
SECRET_KEY = "iris-test-secret-value-do-not-print"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3-stack")


def s3_env(state: Path, server: S3Server, credentials: bool = True) -> dict[str, str]:
    env = isolated_env(state)
    env.update(IRIS_S3_BUCKET=server.bucket, IRIS_S3_ENDPOINT_URL=server.endpoint)
    if credentials:
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    return env


def cli(*args: str, env: dict[str, str], cwd: Path = REPO):
    """`python run.py ARGS`; from the repository (configs/ at hand) unless training."""
    result = run_cli(*args, cwd=cwd, env=env)
    output = result.stdout + result.stderr
    assert SECRET_KEY not in output
    return result, output


def test_switching_registers_once_and_shows_no_secret(state: Path, s3_server: S3Server):
    env = s3_env(state, s3_server)
    result, first = cli("stack", "s3", env=env)
    assert result.returncode == 0, first
    assert "created secret 's3-credentials' (values hidden)" in first
    assert "registered artifact store 's3-artifact-store' (s3)" in first
    assert "Active stack: s3" in first
    assert f"s3://{s3_server.bucket}/zenml via {s3_server.endpoint}" in first

    result, second = cli("stack", "s3", env=env)
    assert result.returncode == 0, second
    assert "Nothing changed: the s3 stack is registered and active." in second
    assert "\n- " not in "\n" + second  # no change listed

    # ZenML's own view of the component holds references to the secret, not its values.
    described = run_cli_zenml(env, state, "artifact-store", "describe", "s3-artifact-store")
    assert "{{s3-credentials.aws_secret_access_key}}" in described
    assert SECRET_KEY not in described and ACCESS_KEY not in described


def run_cli_zenml(env: dict[str, str], cwd: Path, *args: str) -> str:
    import subprocess
    import sys

    zenml = Path(sys.executable).with_name("zenml")
    result = subprocess.run(
        [str(zenml), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_training_on_s3_then_back_on_local(state: Path, s3_server: S3Server, iris_csv: Path):
    env = s3_env(state, s3_server)
    config = training_config(state, iris_csv, "s3_stack_model")
    result, switched = cli("stack", "s3", env=env)
    assert result.returncode == 0, switched

    # The run itself gets no AWS variables: the credentials come from the ZenML secret.
    run_env = s3_env(state, s3_server, credentials=False)
    result, trained = cli("--config", str(config), env=run_env, cwd=state)
    assert result.returncode == 0, trained
    assert "Model version  1: PROMOTED to production" in trained
    # Whichever candidate the config makes win: its scores, as the summary prints them.
    accuracy = re.search(r"^Test metrics +accuracy (\d\.\d{4})", trained, re.M).group(1)
    cv_accuracy = re.search(r"^CV accuracy +(\d\.\d{4})", trained, re.M).group(1)
    stored = s3_server.keys("zenml/")
    for artifact in ("raw_data", "classifier", "test_metrics", "promotion"):
        assert any(f"/{artifact}/" in key for key in stored), (artifact, stored[:20])

    result, back = cli("stack", "local", env=run_env)
    assert result.returncode == 0, back
    assert "activated stack 'default'" in back and "Active stack: local" in back
    before = set(s3_server.keys("zenml/"))
    # Version 2 trains locally and is compared with production's model, read from S3.
    result, local = cli("--config", str(config), env=run_env, cwd=state)
    assert result.returncode == 0, local
    assert "Model version  2: PROMOTED to production" in local
    assert f"not worse than production's {accuracy}" in local
    assert set(s3_server.keys("zenml/")) == before

    result, listed = cli("models", "--model", "s3_stack_model", env=run_env)
    assert result.returncode == 0, listed
    rows = [line.split() for line in listed.splitlines() if line[:1].isdigit()]
    assert [row[:4] for row in rows] == [
        ["2", "production", accuracy, cv_accuracy],
        ["1", "archived", accuracy, cv_accuracy],
    ]
    assert all(row[5] == "013d0da08d6506664ce640459139176b" for row in rows)
    assert all(row[6].startswith("training-") for row in rows)


def test_unreachable_endpoint_fails_fast_and_keeps_the_store(
    state: Path, s3_server: S3Server, iris_csv: Path
):
    server, process = start_s3_server("iris-soon-gone")
    env = s3_env(state, server)
    try:
        result, switched = cli("stack", "s3", env=env)
        assert result.returncode == 0, switched
        assert "updated artifact store 's3-artifact-store'" in switched
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait()
    models_before = cli("models", "--model", "s3_stack_model", env=env)[1]

    config = training_config(state, iris_csv, "s3_stack_model")
    result, failed = cli("--config", str(config), env=env, cwd=state)
    assert result.returncode == 1
    assert f"The S3 endpoint {server.endpoint} is unreachable" in failed
    assert "Nothing was run; the production model was not changed." in failed
    assert "Traceback" not in failed

    # Switching to an unreachable endpoint is refused and leaves the active stack alone.
    result, refused = cli("stack", "s3", env=s3_env(state, server))
    assert result.returncode == 1
    assert f"Stack not changed: The S3 endpoint {server.endpoint} is unreachable" in refused

    # Nothing in the store changed: same versions, same stages (a run would add a version).
    assert cli("models", "--model", "s3_stack_model", env=env)[1] == models_before
