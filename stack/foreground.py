"""A server in the foreground of a wrapper command, stopped with it by any of its signals.

`make s3-server`, `make podman-socket` and `python run.py image registry` each start a server
as a child process and wait on it. Without this, only Ctrl+C stopped the child: a SIGTERM (from
`kill`, systemd, a container runtime or a CI runner) ended the wrapper at once and left the
server running. Inside `ForwardedSignals`, SIGINT, SIGTERM and SIGHUP to the wrapper go to the
child too; the wrapper waits for it to exit (GRACE seconds, then kills it) and raises `Stopped`,
so its `finally` blocks remove what it made (the socket file, a temporary folder). A signal
that comes while the child is still starting ends the start the same way (`Stopped` from
wherever the wrapper is; the start functions stop their child on any exception).

The wrapper then exits with 128 + the signal's number (143 for SIGTERM, 130 for Ctrl+C), the
status a shell shows for a process the signal killed: a script or CI step sees that the server
was stopped, not that it finished. (A systemd unit that wants this counted as a clean stop says
`SuccessExitStatus=143`.) Ctrl+C in a terminal reaches the child twice, from the terminal and
from the wrapper; moto, podman and docker-registry stop on it all the same.
"""

from __future__ import annotations

import signal
import subprocess
from types import FrameType, TracebackType

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE = 5.0  # seconds a stopped server gets to exit before it is killed


class Stopped(SystemExit):
    """A forwarded signal stopped the wrapper; uncaught, it exits with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, grace: float = GRACE) -> int:
    """Send `signum` to a running child, wait up to `grace` seconds, then kill it; its status."""
    if process.poll() is None:
        process.send_signal(signum)
    return reap(process, grace)


def reap(process: subprocess.Popen, grace: float = GRACE) -> int:
    """Wait up to `grace` seconds for a child that was told to stop, then kill it."""
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


class ForwardedSignals:
    """`with ForwardedSignals() as signals:` start the child, `signals.watch(process)`, then
    `signals.wait()`.

    Until a child is watched, a signal raises `Stopped` where the wrapper is, so a start in
    progress ends as on any exception; from then on the signal goes to the child first. A
    watched child still running when the block ends on an exception is stopped (bounded, as
    `stop`). The previous handlers are back when the block ends. Main thread only (Python's
    rule for signal handlers).
    """

    def __init__(self, grace: float = GRACE) -> None:
        self.grace = grace
        self.process: subprocess.Popen | None = None
        self.forwarded = False
        self.received: list[int] = []
        self.previous: dict[int, object] = {}

    def __enter__(self) -> ForwardedSignals:
        self.previous = {signum: signal.signal(signum, self.on_signal) for signum in FORWARDED}
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None and self.process is not None:
                if self.forwarded:
                    reap(self.process, self.grace)
                else:
                    signum = self.received[0] if self.received else signal.SIGTERM
                    stop(self.process, signum, self.grace)
        finally:
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signum)  # each one: a second Ctrl+C may hurry it
            self.forwarded = True
        if first:
            raise Stopped(signum)

    def watch(self, process: subprocess.Popen) -> subprocess.Popen:
        """From now on signals go to `process`; returns it."""
        self.process = process
        return process

    def wait(self) -> int:
        """The watched child's exit status if it ends by itself; `Stopped` if a signal ends it."""
        assert self.process is not None, "watch(process) first"
        return self.process.wait()
