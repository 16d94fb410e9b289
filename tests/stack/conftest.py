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


CONTAINER_TOOLS = ("podman", "docker-registry")


def require_tools(tools: tuple[str, ...]) -> None:
    """Skip a module without its container tools, unless CI (IRIS_REQUIRE_CONTAINERS=1)."""
    import shutil

    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing and os.environ.get("IRIS_REQUIRE_CONTAINERS") != "1":
        pytest.skip(f"container tools missing: {', '.join(missing)}", allow_module_level=True)


def podman_store(folder: Path) -> dict[str, str]:
    """Podman settings for an image store of the test's own, and no pulls from docker.io.

    Debian's registries.conf has no search registries, so blocking docker.io turns any pull
    of a public base image into an error instead of a silent download.
    """
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{folder / "graph"}"\n'
        f'runroot = "{folder / "run"}"\n'
    )
    registries = folder / "registries.conf"
    registries.write_text('[[registry]]\nlocation = "docker.io"\nblocked = true\n')
    return {"CONTAINERS_STORAGE_CONF": str(storage), "CONTAINERS_REGISTRIES_CONF": str(registries)}


def zenml_cli(env: dict[str, str], *args: str, timeout: float = 300):
    import subprocess
    import sys

    zenml = Path(sys.executable).with_name("zenml")
    return subprocess.run(
        [str(zenml), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def start_zenml_server(env: dict[str, str]) -> str:
    """`zenml login --local` on a free loopback port, for the state in `env`; returns its URL."""
    port = free_port()
    result = zenml_cli(env, "login", "--local", "--port", str(port))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return f"http://{HOST}:{port}"


def stop_zenml_server(env: dict[str, str]) -> None:
    zenml_cli(env, "logout", "--local")


def start_registry(folder: Path):
    """Debian's docker-registry on a free loopback port; returns (host:port, process)."""
    import subprocess
    import time
    import urllib.request

    from service.containers import registry_config

    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "registry.yml"
    config.write_text(registry_config(folder / "storage", port))
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=(folder / "registry.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/v2/", timeout=1).close()
            return f"{HOST}:{port}", process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError((folder / "registry.log").read_text()[-2000:]) from None
            time.sleep(0.2)
