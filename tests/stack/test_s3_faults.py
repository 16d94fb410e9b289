"""S3 faults a user meets, for real (a moto server paused, restarted empty, stopped): each run
ends cleanly, production is never damaged, and the next run is never blocked."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stack.s3_server import start
from tests.helpers import REPO, run_cli, training_config
from tests.stack.conftest import isolated_env, start_s3_server

pytestmark = pytest.mark.slow

MODEL = "iris_s3_faults"
UNCHANGED = "The production model was not changed."


def test_s3fs_still_retries_by_class_attribute():
    """stack/s3.py bounds s3fs's retries through this attribute: fail if upstream moves it."""
    import inspect

    import s3fs.core
    from zenml.integrations.s3.artifact_stores.s3_artifact_store import ZenMLS3Filesystem

    assert ZenMLS3Filesystem.retries == s3fs.core.S3FileSystem.retries == 5
    assert "retries=self.retries" in inspect.getsource(s3fs.core.S3FileSystem._call_s3)


def train(config: Path, env: dict[str, str], cwd: Path, *args: str):
    result = run_cli("--config", str(config), *args, cwd=cwd, env=env)
    return result, result.stdout + result.stderr


def train_pausing_s3(config: Path, env: dict[str, str], cwd: Path, server) -> tuple[int, str]:
    """A cold run; the S3 server is paused (SIGSTOP) once the first candidate starts training."""
    command = [sys.executable, str(REPO / "run.py"), "--config", str(config), "--no-cache"]
    log = cwd / "paused-run.log"
    with log.open("w") as out:
        run = subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300
        while "train_" not in log.read_text() and run.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        server.send_signal(signal.SIGSTOP)
        try:
            status = run.wait(timeout=420)
        finally:
            server.send_signal(signal.SIGCONT)
    return status, log.read_text()


def production(env: dict[str, str], cwd: Path) -> str:
    listed = run_cli("models", "--model", MODEL, cwd=REPO, env=env).stdout
    rows = [line.split() for line in listed.splitlines() if line[:1].isdigit()]
    return next(row[0] for row in rows if row[1] == "production")


def test_outage_restart_and_loss_of_the_store_never_block_the_next_run(tmp_path, iris_csv):
    server, process = start_s3_server("iris-faults")
    env = isolated_env(tmp_path)
    env.update(
        IRIS_S3_BUCKET=server.bucket,
        IRIS_S3_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    config = training_config(tmp_path, iris_csv, MODEL)
    try:
        assert run_cli("stack", "s3", cwd=REPO, env=env).returncode == 0
        result, output = train(config, env, tmp_path)
        assert "Model version  1: PROMOTED" in output, output[-3000:]

        # 1. The endpoint stops answering mid-run: one message, no traceback wall.
        status, output = train_pausing_s3(config, env, tmp_path, process)
        assert status == 1, output[-3000:]
        assert "Training stopped at step train_" in output
        assert f'endpoint URL: "{server.endpoint}/' in output
        assert "The storage stopped answering" in output
        assert UNCHANGED in output
        assert "Traceback" not in output
        assert production(env, REPO) == "1"
        # ... and once it answers again, the next run completes: ZenML's cache serves it
        # whole from version 1's run on S3, so its model is production's own (kept). The
        # failed run left no version, so this one is version 2.
        result, output = train(config, env, tmp_path)
        assert result.returncode == 0, output[-3000:]
        assert "Model version  2: not promoted" in output
        assert "its classifier is production's own (version 1's" in output
        assert production(env, REPO) == "1"

        # 2. The server restarts empty while ZenML's cache still points at its artifacts.
        process.terminate()
        process.wait()
        process = start(int(server.endpoint.rsplit(":", 1)[1]), server.bucket)
        result, output = train(config, env, tmp_path)
        assert result.returncode == 0, output[-3000:]
        assert "every step runs again this time" in output
        assert "Model version  3: not promoted" in output
        assert f"'{MODEL}' version 1 cannot be loaded" in output
        assert "`python run.py promote 3`" in output
        assert production(env, REPO) == "1"

        # 3. The server is gone for good; back on the local stack, runs go on.
        process.terminate()
        process.wait()
        assert run_cli("stack", "local", cwd=REPO, env=env).returncode == 0
        result, output = train(config, env, tmp_path)
        assert result.returncode == 0, output[-3000:]
        assert "Model version  4: not promoted" in output
        assert f"The S3 endpoint {server.endpoint} is unreachable" in output
        assert "Traceback" not in output

        promoted = run_cli("--config", str(config), "promote", "4", cwd=tmp_path, env=env)
        assert promoted.returncode == 0, promoted.stderr[-3000:]
        assert "version 4 is production (was version 1)" in promoted.stdout
        one_row = run_cli(
            "--config", str(config), "predict", "5.1", "3.5", "1.4", "0.2", cwd=tmp_path, env=env
        )
        assert one_row.stdout.strip().endswith(f"{MODEL} version 4"), one_row.stderr
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            process.wait()
