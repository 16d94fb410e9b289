"""One-row prediction from the command line: `python run.py predict` against a plain script.

Both load the same exported model file and predict one row, each a fresh process, run in
alternation; medians of wall time. Prints a table and the ratio.

    python benchmarks/predict_cli.py        # BENCH_QUICK=1 for a short run
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import QUICK, REPO, isolated_env, train_iris

REPEATS = 3 if QUICK else 9
ROW = ["6.3", "3.3", "6.0", "2.5"]


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    assert result.stdout.startswith("virginica"), result.stdout
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as folder:
        state = Path(folder)
        env = isolated_env(state)
        print("training and promoting Iris in a throw-away store ...", flush=True)
        model_file = train_iris(state, env)
        commands = {
            "run.py predict": [sys.executable, str(REPO / "run.py"), "predict", *ROW],
            "plain script": [
                sys.executable, str(REPO / "benchmarks" / "plain_predict.py"), str(model_file),
                *ROW,
            ],
        }  # fmt: skip
        for command in commands.values():  # warm the file cache
            wall_time(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEATS):
            for name, command in commands.items():
                times[name].append(wall_time(command, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["run.py predict"] / medians["plain script"]
    print("| command | median wall time (s) |")
    print("|---|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} |")
    print(f"\nratio run.py predict / plain script: {ratio:.2f}x (target <= 1.2x)")
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "predict_cli.json").write_text(json.dumps({**medians, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
