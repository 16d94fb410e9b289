"""A local S3 server for the stack tests, and ZenML state of their own.

Stack switching changes ZenML's global config, so these tests never use the session's
store: each module gets a fresh ZENML_CONFIG_PATH, passed to the `run.py` subprocesses.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.s3_server import HOST, LOCAL_CREDENTIALS, start
from tests.helpers import REPO, free_port

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: team
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: me
  user: {token: not-a-token}
contexts:
- name: team-cluster
  context: {cluster: team, user: me}
- name: staging
  context: {cluster: team, user: me}
current-context: staging
"""


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
    import time
    import urllib.request

    from deploy.containers import registry_config

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


def write_kubeconfig(folder: Path) -> Path:
    """Two contexts of a cluster that does not exist: reading contexts needs none."""
    path = folder / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path


# The container stacks' fixtures: one ZenML state per module, with S3, podman's Docker API
# (an image store of its own), a local ZenML server and a registry, all on loopback.


@pytest.fixture(scope="module")
def container_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("container-stacks")


@pytest.fixture(scope="module")
def container_env(container_state: Path, s3_server: S3Server) -> dict[str, str]:
    """A user's shell for these stacks: S3 settings and credentials, a kubeconfig, and a
    DOCKER_HOST where nothing answers (tests that need the API use `podman_socket`)."""
    state = container_state
    env = isolated_env(state) | podman_store(state / "podman") | LOCAL_CREDENTIALS
    env.update(
        IRIS_S3_BUCKET=s3_server.bucket,
        IRIS_S3_ENDPOINT_URL=s3_server.endpoint,
        IRIS_BUILD_DIR=str(state / "build"),
        KUBECONFIG=str(write_kubeconfig(state)),
        DOCKER_HOST=f"unix://{state}/no-docker-here.sock",
    )
    return env


@pytest.fixture(scope="module")
def podman_socket(
    container_state: Path, container_env: dict[str, str], registry: str
) -> Iterator[str]:
    """`make podman-socket` with the module's image store, pushing to the module's loopback
    registry over plain HTTP as it does for a stack's; yields its DOCKER_HOST."""
    from stack.podman_socket import docker_host
    from stack.podman_socket import start as start_socket

    socket = container_state / "sock" / "podman.sock"
    process = start_socket(
        socket, env=container_env, log=container_state / "podman.log", plain_http=[registry]
    )
    yield docker_host(socket)
    process.terminate()
    process.wait(timeout=60)
    release_store(container_env, container_state / "podman")


def release_store(env: dict[str, str], folder: Path) -> None:
    """Empty the test's image store and undo the mount podman's overlay driver leaves on it,
    so the temporary folder can be removed."""

    for args in (["rm", "--all", "--force"], ["rmi", "--all", "--force"]):
        subprocess.run(["podman", *args], env=env, capture_output=True, timeout=300)
    overlay = str(folder / "graph" / "overlay")
    with open("/proc/self/mountinfo") as mounts:
        mounted = any(line.split()[4] == overlay for line in mounts)
    if mounted:
        subprocess.run(["umount", overlay], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def zenml_server(container_env: dict[str, str]) -> Iterator[str]:
    url = start_zenml_server(container_env)
    yield url
    stop_zenml_server(container_env)


def start_remote_server(home: Path) -> tuple[dict[str, str], subprocess.Popen]:
    """`make zenml-server` on a free loopback port with its data in `home`: the settings
    that connect a client to it (ZENML_STORE_URL and the API key it made), and its process."""
    import sys
    import time
    import urllib.request

    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    output = home.parent / f"{home.name}.out"
    process = subprocess.Popen(
        [sys.executable, "-m", "stack.zenml_server", "--port", str(port), "--home", str(home)],
        cwd=REPO,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    try:
        while "Ctrl+C stops the server" not in output.read_text():  # printed once it is ready
            assert process.poll() is None, output.read_text()[-3000:]
            assert time.monotonic() < deadline, "the ZenML server was not ready in 3 minutes"
            time.sleep(0.5)
        urllib.request.urlopen(f"{url}/health", timeout=5).close()
    except BaseException:
        process.terminate()
        process.wait(timeout=60)
        raise
    key = (home / "client.key").read_text().strip()
    return {"ZENML_STORE_URL": url, "ZENML_STORE_API_KEY": key}, process


@pytest.fixture(scope="module")
def remote_server(container_state: Path) -> Iterator[dict[str, str]]:
    """A ZenML server that counts as remote (`make zenml-server`): its client settings."""
    settings, process = start_remote_server(container_state / "zenml-server")
    yield settings
    process.terminate()
    process.wait(timeout=60)


@pytest.fixture(scope="module")
def registry(container_state: Path) -> Iterator[str]:
    address, process = start_registry(container_state / "registry")
    yield address
    process.terminate()
    process.wait(timeout=30)
