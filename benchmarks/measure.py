"""Run a command as its own process and measure its wall time and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
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


def measure(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Measure:
    """Wall time and peak RSS of one run, like `/usr/bin/time -v`.

    os.wait4 returns the resource usage of that one child (ru_maxrss, KiB on Linux),
    not the running maximum over all children that RUSAGE_CHILDREN would give.
    """
    with open(log, "a") as output:
        output.write(f"\n$ {' '.join(command)}\n")
        output.flush()
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text()[-2000:]
        raise BenchmarkError(f"{' '.join(command)} exited with {process.returncode}:\n{tail}")
    return Measure(
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def median_measure(measures: list[Measure]) -> Measure:
    return Measure(
        seconds=statistics.median(m.seconds for m in measures),
        peak_mb=statistics.median(m.peak_mb for m in measures),
        cpu_seconds=statistics.median(m.cpu_seconds for m in measures),
    )
