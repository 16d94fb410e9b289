"""A live server on loopback, serving the session's promoted model (`served_model`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from tests.helpers import REPO, free_port


def wait_ready(url: str, process: subprocess.Popen | None, timeout: float = 120) -> None:
    """Until BentoML's /readyz says the model is loaded (or the process has died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} was not ready after {timeout} s")


def start_server(
    target: str, cwd: Path, log: Path, host: str | None = "127.0.0.1", **env: str
) -> tuple[str, subprocess.Popen]:
    """`bentoml serve TARGET` as a user starts it, on a free loopback port (host=None: no
    --host, the service's own default)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            target,
            *(["--host", host] if host else []),
            "--port",
            str(port),
        ],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
    except Exception:
        stop_server(process)
        raise RuntimeError(f"{target} did not start:\n{log.read_text()[-3000:]}") from None
    return url, process


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def inference_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `server` logs its predictions and feedback (SERVING_LOG_DIR)."""
    return tmp_path_factory.mktemp("inference-log")


@pytest.fixture(scope="session")
def server(
    served_model: str, inference_log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service from source (`cd service && bentoml serve`), serving `served_iris`."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    url, process = start_server(
        ".",
        REPO / "service",
        log,
        SERVING_MODEL=served_model,
        SERVING_MAX_RECORDS="50",
        SERVING_LOG_DIR=str(inference_log_dir),
    )
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def churn_server(served_churn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service from source serving `served_churn` (categorical and nullable fields)."""
    log = tmp_path_factory.mktemp("churn-server") / "serve.log"
    url, process = start_server(".", REPO / "service", log, SERVING_MODEL=served_churn)
    yield url
    stop_server(process)


API_TOKEN = "a-shared-secret"
BODY_LIMIT = 2_000_000
HEADER_TIMEOUT = 2  # seconds, for the header and body timeouts of `guarded`


@pytest.fixture(scope="session")
def guarded(
    served_model: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """Started as `cd service && bentoml serve` (no --host) with SERVING_API_TOKEN, a smaller
    body limit, two workers and 2 s header and body timeouts: url, log, port, token."""
    log = tmp_path_factory.mktemp("guarded") / "serve.log"
    url, process = start_server(
        ".",
        REPO / "service",
        log,
        host=None,
        SERVING_MODEL=served_model,
        SERVING_API_TOKEN=API_TOKEN,
        SERVING_MAX_BODY_BYTES=str(BODY_LIMIT),
        SERVING_WORKERS="2",
        SERVING_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        SERVING_BODY_TIMEOUT=str(HEADER_TIMEOUT),
    )
    yield SimpleNamespace(url=url, log=log, port=int(url.rsplit(":", 1)[1]), token=API_TOKEN)
    stop_server(process)
