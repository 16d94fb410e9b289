"""Read-only and batch commands against ZenML's own: `python run.py models` against
`zenml model version list`, and `python run.py predict --input` (1,000 rows) against a bare
3-step ZenML pipeline (benchmarks/bare_batch_pipeline.py). Run by `make bench` after the
Iris runs have promoted a model, each pair interleaved in fresh processes.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.measure import Measure, median_measure
from benchmarks.synthetic_iris import FEATURES, make_iris_like
from benchmarks.workspace import PYTHON, REPO

BATCH_ROWS = 1_000
TARGETS = {"models": 1.0, "batch": 1.2}
LABELS = {
    "models": ("`python run.py models`", "`zenml model version list`"),
    "batch": (f"`python run.py predict --input` ({BATCH_ROWS:,} rows)", "bare 3-step pipeline"),
}


def zenml_cli() -> str:
    """The `zenml` command of this environment (beside its Python)."""
    return str(Path(PYTHON).with_name("zenml"))


def models_pair(work: Path, env: dict[str, str], config: Path) -> dict[str, dict]:
    common = {"cwd": work, "env": env}
    return {
        "ours": {"command": [PYTHON, str(REPO / "run.py"), "--config", str(config), "models"]}
        | common,
        "zenml": {"command": [zenml_cli(), "model", "version", "list"]} | common,
    }


def batch_pair(work: Path, env: dict[str, str], config: Path, model_name: str) -> dict[str, dict]:
    rows = work / "batch_input.csv"
    make_iris_like(BATCH_ROWS, seed=7)[FEATURES].to_csv(rows, index=False, float_format="%.1f")
    common = {"cwd": work, "env": env}
    ours = [PYTHON, str(REPO / "run.py"), "--config", str(config), "predict", "--input"]
    return {
        "ours": {"command": [*ours, str(rows), "--output", str(work / "ours.csv")]} | common,
        "bare": {
            "command": [
                PYTHON,
                str(REPO / "benchmarks" / "bare_batch_pipeline.py"),
                "--model",
                model_name,
                "--input",
                str(rows),
                "--output",
                str(work / "bare.csv"),
            ]
        }
        | common,
    }


def cli_table(results: dict[str, dict[str, list[Measure]]]) -> list[str]:
    lines = [
        "| measure | ours | baseline | time ratio | CPU time ratio | target | met "
        "| peak memory: ours / baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, runs in results.items():
        (mine_runs, base_runs) = runs.values()
        mine, base = median_measure(mine_runs), median_measure(base_runs)
        value = mine.seconds / base.seconds
        cpu = mine.cpu_seconds / base.cpu_seconds if base.cpu_seconds else float("nan")
        ours_label, base_label = LABELS[key]
        met = "yes" if value <= TARGETS[key] else "**no**"
        lines.append(
            f"| {ours_label} against {base_label} | {mine.seconds:.1f} s | {base.seconds:.1f} s "
            f"| {value:.2f}x | {cpu:.2f}x | ≤ {TARGETS[key]}x | {met} "
            f"| {mine.peak_mb:.0f} / {base.peak_mb:.0f} MB |"
        )
    return lines
