"""Podman's Docker-compatible API on a unix socket: the docker stack's engine without Docker.

`make podman-socket` runs it in the foreground; tests start their own. ZenML's image builder
and `local_docker` orchestrator talk to it through the Docker SDK once DOCKER_HOST names it.
The socket is a file in a folder only this user can enter: whoever reaches the API can run
containers as this user, so it never listens on TCP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import click

from pipelines.command_line import fail
from stack.foreground import ForwardedSignals
from stack.foreground import stop as stop_process


class PodmanMissing(RuntimeError):
    """podman is not installed on this machine."""


def default_socket() -> Path:
    """In the user's runtime folder when there is one, else a private folder under /tmp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "iris-mlops" / "podman.sock"
    return Path(tempfile.gettempdir()) / f"iris-mlops-podman-{os.getuid()}" / "podman.sock"


def docker_host(socket: Path) -> str:
    return f"unix://{socket}"


def service_command(socket: Path) -> list[str]:
    """No idle timeout (`--time=0`): it lives as long as the process that started it."""
    return ["podman", "system", "service", "--time=0", docker_host(socket)]


def wait_until_up(socket: Path, process: subprocess.Popen, timeout: float = 30) -> None:
    """Until the Docker SDK gets a version from the socket (or podman has exited)."""
    import docker
    from docker.errors import DockerException

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"podman system service exited with {process.returncode}")
        try:
            client = docker.DockerClient(base_url=docker_host(socket), timeout=2)
            try:
                client.version()
                return
            finally:
                client.close()
        except DockerException:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Docker API answered at {docker_host(socket)}") from None
            time.sleep(0.2)


def plain_http_registries() -> list[str]:
    """The hosts of the docker and kubernetes stacks' registries that speak plain HTTP:
    loopback ones, and those the settings mark insecure (IRIS_*_REGISTRY_INSECURE)."""
    from stack.checks import is_loopback
    from stack.settings import StackSettingsError, docker_settings, kubernetes_settings

    hosts = []
    for settings in (docker_settings, kubernetes_settings):
        try:
            chosen = settings()
        except StackSettingsError:  # that stack is not set up here
            continue
        uri = chosen.registry_uri
        if uri and (chosen.registry_insecure or is_loopback(uri)):
            hosts.append(uri.split("://", 1)[-1].split("/", 1)[0])
    return sorted(set(hosts))


def registries_conf(folder: Path, hosts: list[str], env: dict[str, str]) -> Path:
    """The registries.conf podman would read, plus `insecure = true` for each of `hosts`.

    Podman's Docker API pushes over HTTPS unless registries.conf marks the registry
    insecure, and reads that file only when it starts: so the service gets its own copy.
    """
    base = Path(env.get("CONTAINERS_REGISTRIES_CONF") or "/etc/containers/registries.conf")
    text = base.read_text() if base.is_file() else ""
    added = [f'[[registry]]\nlocation = "{host}"\ninsecure = true\n' for host in hosts]
    path = folder / "registries.conf"
    path.write_text("\n".join([text.rstrip(), *added]).lstrip() + "\n")
    return path


def start(
    socket: Path,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    plain_http: Sequence[str] = (),
):
    """Podman's API service on `socket`, pushing to the `plain_http` registries (host:port)
    over HTTP; returns the process, which the caller stops."""
    if shutil.which("podman") is None:
        raise PodmanMissing("podman is not installed (Debian: apt-get install podman).")
    if not socket.parent.exists():
        socket.parent.mkdir(mode=0o700, parents=True)
    socket.unlink(missing_ok=True)  # left by a service that was killed
    env = dict(os.environ if env is None else env)
    if plain_http:
        env["CONTAINERS_REGISTRIES_CONF"] = str(registries_conf(socket.parent, plain_http, env))
    output = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        service_command(socket), env=env, stdout=output, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(socket, process)
    except BaseException:  # a signal too (stack/foreground.py)
        stop_process(process)
        raise
    return process


@click.command()
@click.option(
    "--socket",
    "socket",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="IRIS_PODMAN_SOCKET",
    help="Where the socket goes [default: $XDG_RUNTIME_DIR/iris-mlops/podman.sock, or a "
    "private folder under /tmp].",
)
def main(socket: Path | None) -> None:
    """Serve podman's Docker API on a unix socket until Ctrl+C or SIGTERM, and say how to use it."""
    socket = (socket or default_socket()).absolute()
    try:
        with ForwardedSignals() as signals:
            plain_http = plain_http_registries()
            try:
                signals.watch(start(socket, plain_http=plain_http))
            except PodmanMissing as error:
                fail(f"Error: {error}")
            click.echo(f"Podman's Docker-compatible API on {docker_host(socket)}.")
            if plain_http:
                click.echo(f"It pushes to {', '.join(plain_http)} over plain HTTP.")
            click.echo("In the shell where you switch stacks and run pipelines:\n")
            click.echo(f"  export DOCKER_HOST={docker_host(socket)}")
            click.echo("  make stack-docker\n\nCtrl+C stops it.")
            status = signals.wait()
    finally:
        socket.unlink(missing_ok=True)
    if status:
        fail(f"Error: podman system service exited with {status}.")


if __name__ == "__main__":
    main()
