"""One-row prediction from the command line: `python run.py predict` against a plain script.

Both load the same exported model file and predict one row, each a fresh process, run
interleaved by `make bench` after the Iris runs have promoted a model.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.measure import Measure, median_measure
from benchmarks.workspace import PYTHON, REPO, exported_model_file
from tests.helpers import model_config

ROW = ["6.3", "3.3", "6.0", "2.5"]
TARGET = 1.2


def predict_pair(work: Path, env: dict[str, str], model_name: str) -> dict[str, dict]:
    """The two commands, ready for run_benchmarks.side_by_side."""
    config = model_config(work, model_name)
    model_file = exported_model_file(env, model_name)
    common = {"cwd": work, "env": env}
    return {
        "ours": {
            "command": [PYTHON, str(REPO / "run.py"), "--config", str(config), "predict", *ROW],
            **common,
        },
        "plain": {
            "command": [
                PYTHON,
                str(REPO / "benchmarks" / "plain_predict.py"),
                str(model_file),
                *ROW,
            ],
            **common,
        },
    }


def predict_table(runs: dict[str, list[Measure]]) -> list[str]:
    mine, base = median_measure(runs["ours"]), median_measure(runs["plain"])
    value = mine.seconds / base.seconds
    met = "yes" if value <= TARGET else "**no**"
    return [
        "| measure | `python run.py predict` | plain script | time ratio | target | met "
        "| peak memory: ours / plain |",
        "|---|---|---|---|---|---|---|",
        f"| one row | {mine.seconds:.2f} s | {base.seconds:.2f} s | {value:.2f}x | ≤ {TARGET}x "
        f"| {met} | {mine.peak_mb:.0f} / {base.peak_mb:.0f} MB |",
    ]
