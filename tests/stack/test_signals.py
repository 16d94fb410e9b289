"""SIGTERM (or SIGINT, SIGHUP) to a wrapper command stops the server it started.

`make s3-server`, `make podman-socket` and `python run.py image registry` start a server and
wait on it (stack/foreground.py). Each test starts the wrapper in a session of its own and
signals the wrapper's PID only, as `kill`, systemd or a CI runner does; the server must be
gone after it, and what the wrapper made (podman's socket file) removed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest

from pipelines.project_paths import PROJECT_ROOT
from stack.s3_server import HOST
from tests.helpers import free_port

EXIT_WITHIN = 30  # seconds: the wrapper's grace (5 s) and a slow machine's margin

# A wrapper of the same shape as the real ones, over a stand-in server (argv: grace, marker
# file, the child's code, its own argv...): its `finally` writes the marker.
WRAPPER = """\
import pathlib, subprocess, sys
from stack.foreground import ForwardedSignals
grace, marker, code, *argv = sys.argv[1:]
try:
    with ForwardedSignals(grace=float(grace)) as signals:
        signals.watch(subprocess.Popen([sys.executable, "-c", code, *argv]))
        print("status", signals.wait(), flush=True)
finally:
    pathlib.Path(marker).write_text("cleaned up")
"""
SERVER = """\
import pathlib, signal, sys, time
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, {handler})
pathlib.Path(sys.argv[1]).touch()
time.sleep(120)
"""
QUIET_SERVER = SERVER.format(handler="lambda *_: sys.exit(0)")  # stops on any of them
DEAF_SERVER = SERVER.format(handler="signal.SIG_IGN")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


@contextmanager
def wrapper(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator:
    """The wrapper in a session of its own; whatever is left of the session is killed after."""
    env = (os.environ if env is None else env) | {"PYTHONUNBUFFERED": "1"}  # its log, as it goes
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def children(process: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(process.pid).children(recursive=True)


def gone(child: psutil.Process) -> bool:
    try:
        return not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def signal_and_wait(process: subprocess.Popen, signum: int, log: Path) -> int:
    """`signum` to the wrapper's PID only (not its group); its exit status."""
    os.kill(process.pid, signum)
    try:
        return process.wait(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the wrapper outlived {signum!r}:\n{log.read_text()}") from None


# The helper itself, over a stand-in server: quick, no real server.


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_child_and_the_wrapper_cleans_up(tmp_path: Path, signum: int) -> None:
    ready, marker, log = tmp_path / "ready", tmp_path / "marker", tmp_path / "log"
    command = [sys.executable, "-c", WRAPPER, "5", str(marker), QUIET_SERVER, str(ready)]
    with wrapper(command, log) as process:
        wait_for(ready.exists, EXIT_WITHIN, "the stand-in server started")
        (child,) = children(process)
        assert signal_and_wait(process, signum, log) == 128 + signum, log.read_text()
        wait_for(lambda: gone(child), 5, "the stand-in server is gone")
        assert marker.read_text() == "cleaned up"
        assert "Traceback" not in log.read_text()


def test_a_child_deaf_to_the_signal_is_killed_after_the_grace(tmp_path: Path) -> None:
    ready, marker, log = tmp_path / "ready", tmp_path / "marker", tmp_path / "log"
    command = [sys.executable, "-c", WRAPPER, "0.5", str(marker), DEAF_SERVER, str(ready)]
    with wrapper(command, log) as process:
        wait_for(ready.exists, EXIT_WITHIN, "the stand-in server started")
        (child,) = children(process)
        started = time.monotonic()
        assert signal_and_wait(process, signal.SIGTERM, log) == 128 + signal.SIGTERM
        assert time.monotonic() - started < 10
        wait_for(lambda: gone(child), 5, "the stand-in server is gone")
        assert marker.read_text() == "cleaned up"


def test_a_child_that_ends_by_itself_gives_its_status(tmp_path: Path) -> None:
    marker, log = tmp_path / "marker", tmp_path / "log"
    command = [sys.executable, "-c", WRAPPER, "5", str(marker), "raise SystemExit(3)"]
    with wrapper(command, log) as process:
        assert process.wait(timeout=EXIT_WITHIN) == 0
    assert "status 3" in log.read_text()
    assert marker.read_text() == "cleaned up"


# The real wrappers.


def refused(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.slow
def test_sigterm_to_the_s3_server_wrapper_stops_moto(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "s3-server.log"
    command = [sys.executable, "-m", "stack.s3_server", "--port", str(port)]
    with wrapper(command, log) as process:
        wait_for(lambda: not refused(port), 60, f"the S3 server answered on {port}")
        wait_for(lambda: "S3 server" in log.read_text(), 60, "the wrapper waits on it")
        servers = children(process)
        assert any("moto_server" in " ".join(child.cmdline()) for child in servers), servers
        assert signal_and_wait(process, signal.SIGTERM, log) == 128 + signal.SIGTERM
        wait_for(lambda: all(gone(child) for child in servers), 5, "moto_server is gone")
        assert refused(port)


def podman_answers(path: Path) -> bool:
    """A `/_ping` to the Docker API on the unix socket answers OK."""
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(2)
            client.connect(str(path))
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
            return b"OK" in client.recv(4096)
    except OSError:
        return False


@pytest.mark.slow
def test_sigterm_to_the_podman_socket_wrapper_stops_podman_and_removes_the_socket(
    tmp_path: Path,
) -> None:
    from tests.stack.conftest import podman_store, release_store, require_tools

    require_tools(("podman",))
    env = os.environ | podman_store(tmp_path / "podman")
    path, log = tmp_path / "sock" / "podman.sock", tmp_path / "podman-socket.log"
    command = [sys.executable, "-m", "stack.podman_socket", "--socket", str(path)]
    try:
        with wrapper(command, log, env=env) as process:
            wait_for(lambda: "DOCKER_HOST" in log.read_text(), 60, "podman's API answered")
            assert podman_answers(path)
            (service, *_) = psutil.Process(process.pid).children()
            assert "podman" in service.name(), service.cmdline()
            assert signal_and_wait(process, signal.SIGTERM, log) == 128 + signal.SIGTERM
            wait_for(lambda: gone(service), 5, "podman system service is gone")
            assert not path.exists()
            assert not podman_answers(path)
    finally:
        release_store(env, tmp_path / "podman")
