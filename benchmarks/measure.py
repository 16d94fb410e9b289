"""Run a command as its own process and measure its wall time and peak memory."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class BenchmarkError(RuntimeError):
    """A measured command failed: its figures would mean nothing."""


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float  # maximum resident set size of the process
    cpu_seconds: float = 0.0  # user + system CPU time of the process: less sensitive to other load


# Linux keeps the memory high-water mark a process had before exec in its ru_maxrss, so a
# command forked straight from the benchmark (hundreds of MB) would report at least the
# benchmark's size. It is forked from this bare launcher instead, which writes the command's
# own usage (os.wait4: that one child's, not RUSAGE_CHILDREN's running maximum) to a file.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        print(f"cannot run {sys.argv[2]}: {error}", file=sys.stderr)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def measure(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Measure:
    """Wall time, CPU time and peak RSS of one run of `command`, like `/usr/bin/time -v`."""
    with open(log, "a") as output, tempfile.TemporaryDirectory() as folder:
        usage_file = Path(folder) / "usage"
        output.write(f"\n$ {' '.join(command)}\n")
        output.flush()
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(usage_file), *command]
        start = time.perf_counter()
        returncode = subprocess.run(
            launcher, cwd=cwd, env=env, stdout=output, stderr=output
        ).returncode
        seconds = time.perf_counter() - start
        if returncode != 0:
            tail = log.read_text()[-2000:]
            raise BenchmarkError(f"{' '.join(command)} exited with {returncode}:\n{tail}")
        maxrss_kib, cpu_seconds = usage_file.read_text().split()
    return Measure(seconds=seconds, peak_mb=int(maxrss_kib) / 1024, cpu_seconds=float(cpu_seconds))


def median_measure(measures: list[Measure]) -> Measure:
    return Measure(
        seconds=statistics.median(m.seconds for m in measures),
        peak_mb=statistics.median(m.peak_mb for m in measures),
        cpu_seconds=statistics.median(m.cpu_seconds for m in measures),
    )
