"""`make podman-socket` pushes to a plain-HTTP loopback registry, as ZenML's image builder
pushes a step image through it (the Docker SDK's push), and without that setting cannot."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.stack.conftest import (
    CONTAINER_TOOLS,
    isolated_env,
    podman_store,
    release_store,
    require_tools,
    start_registry,
)

require_tools(CONTAINER_TOOLS)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    address, process = start_registry(tmp_path_factory.mktemp("registry"))
    yield address
    process.terminate()
    process.wait(timeout=30)


def socket_service(folder: Path, env: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """`make podman-socket` (python -m stack.podman_socket) with `env`; its DOCKER_HOST."""
    import docker

    socket = folder / "sock" / "podman.sock"
    folder.mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "stack.podman_socket", "--socket", str(socket)],
        cwd=REPO,
        env=env,
        stdout=(folder / "socket.out").open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "Ctrl+C stops it" not in (folder / "socket.out").read_text():
        assert process.poll() is None, (folder / "socket.out").read_text()
        assert time.monotonic() < deadline, "podman's socket did not start"
        time.sleep(0.2)
    docker.DockerClient(base_url=f"unix://{socket}").version()
    return f"unix://{socket}", process


def push(docker_host: str, env: dict[str, str], target: str) -> list[dict]:
    """A one-file image imported into the service's store, tagged `target` and pushed by
    the Docker SDK (what ZenML's image builder calls); the push's messages."""
    import docker

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"hello\n"
        entry = tarfile.TarInfo("hello")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    subprocess.run(
        ["podman", "import", "-", "localhost/tiny:1"], input=layer.getvalue(), env=env,
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    client = docker.DockerClient(base_url=docker_host)
    repository, tag = target.rsplit(":", 1)
    client.images.get("localhost/tiny:1").tag(repository, tag)
    return list(client.images.push(repository, tag=tag, stream=True, decode=True))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A shell with an image store of its own, released afterwards."""
    env = isolated_env(tmp_path) | podman_store(tmp_path / "podman")
    yield env
    release_store(env, tmp_path / "podman")


def test_the_socket_pushes_to_a_loopback_registry_the_stack_names(registry, env, tmp_path):
    told = env | {"IRIS_DOCKER_REGISTRY_URI": f"{registry}/iris"}
    docker_host, process = socket_service(tmp_path / "told", told)
    try:
        assert (
            f"It pushes to {registry} over plain HTTP."
            in (tmp_path / "told" / "socket.out").read_text()
        )
        messages = push(docker_host, told, f"{registry}/iris/tiny:1")
    finally:
        stop(process)
    assert not [m for m in messages if "error" in m], messages
    tags = json.load(urllib.request.urlopen(f"http://{registry}/v2/iris/tiny/tags/list"))
    assert tags["tags"] == ["1"]

    # Without a registry setting the service pushes over HTTPS, which this registry refuses.
    docker_host, process = socket_service(tmp_path / "untold", env)
    try:
        messages = push(docker_host, env, f"{registry}/iris/tiny:2")
    finally:
        stop(process)
    assert any("HTTP response to HTTPS client" in m.get("error", "") for m in messages), messages
