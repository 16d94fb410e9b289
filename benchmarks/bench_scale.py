"""`make bench-scale`: the training pipeline against the plain script at 10,000,000 rows.

Too long for `make bench` (42 minutes on 2 cores): one run of each, plain script
first, on synthetic Iris-like data and benchmarks/training_scale.yaml. Writes
benchmarks/RESULTS-scale.md. `BENCH_SCALE_ROWS` changes the size (a quick check: 100000).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.measure import Measure, measure
from benchmarks.run_benchmarks import pair_table
from benchmarks.synthetic_iris import write_iris_like
from benchmarks.workspace import REPO, isolated_env, ours, plain, run_config

HERE = REPO / "benchmarks"
ROWS = int(os.environ.get("BENCH_SCALE_ROWS", "10000000"))
TARGETS = {"time": 1.3, "memory": 1.5}  # issue 14: ours / plain script


def scale_pair(rows: int, log: Path) -> dict[str, Measure]:
    """One cold `python run.py` and one plain-script run on the same generated CSV."""
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-scale-"))
    try:
        env = isolated_env(work)
        started = time.perf_counter()
        data = write_iris_like(work / f"iris_like_{rows}.csv", rows)
        print(
            f"Wrote {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        config = run_config(HERE / "training_scale.yaml", work, data, f"scale_{rows}")
        common = {"cwd": work, "env": env, "log": log}
        results = {"plain": measure(plain(config, work / "plain"), **common)}
        print(f"  plain: {results['plain']}")
        results["ours"] = measure(ours(config, "--no-cache"), **common)
        print(f"  ours:  {results['ours']}")
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: int, results: dict[str, Measure], minutes: float, loads: tuple) -> str:
    mine, base = results["ours"], results["plain"]

    return "\n".join(
        [
            "# Scale benchmark",
            "",
            f"Written by `make bench-scale` on {time.strftime('%Y-%m-%d %H:%M')}, in "
            f"{minutes:.0f} minutes, on {os.cpu_count()} CPU cores (load average "
            f"{loads[0]:.1f} at the start, {loads[1]:.1f} at the end). {rows:,} synthetic "
            "Iris-like rows ([synthetic_iris.py](synthetic_iris.py)), config "
            "[training_scale.yaml](training_scale.yaml). Ours: `python run.py --no-cache` "
            "(validation, artifacts in the local store, evaluation, promotion, export). "
            "Baseline: [plain_training.py](plain_training.py), the same fits with sklearn "
            "alone. One run each, `OMP_NUM_THREADS=1`; peak memory is the process's maximum "
            "resident set size.",
            "",
            *pair_table(mine, base, TARGETS),
            "",
        ]
    )


def main() -> None:
    started, load_start = time.time(), os.getloadavg()[0]
    output = HERE / "results"
    output.mkdir(exist_ok=True)
    log = output / "scale.log"
    log.write_text("")
    results = scale_pair(ROWS, log)
    text = report(ROWS, results, (time.time() - started) / 60, (load_start, os.getloadavg()[0]))
    target = HERE / "RESULTS-scale.md" if ROWS == 10_000_000 else output / "RESULTS-scale.md"
    target.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
