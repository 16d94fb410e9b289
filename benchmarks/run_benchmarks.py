"""`make bench`: each measure side by side with its baseline in one run; writes RESULTS.md.

The machine may be shared, so runs of a measure and its baseline are interleaved and the
tables quote medians and the ratio of medians. `BENCH_QUICK=1` (`make bench QUICK=1`)
does fewer repetitions at smaller scales and writes benchmarks/results/RESULTS-quick.md,
leaving the committed benchmarks/RESULTS.md alone.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

from benchmarks.cli_commands import batch_pair, cli_table, models_pair
from benchmarks.measure import Measure, measure, median_measure
from benchmarks.predict_cli import predict_pair, predict_table
from benchmarks.serving import serving_measures, serving_table
from benchmarks.synthetic_iris import write_iris_like
from benchmarks.workspace import REPO, bare, isolated_env, ours, plain, run_config
from data.make_iris import write_iris

HERE = REPO / "benchmarks"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPEATS = 2 if QUICK else 5
PREDICT_REPEATS = 3 if QUICK else 9
SCALE_ROWS = [10_000, 100_000] if QUICK else [10_000, 100_000, 1_000_000]
SCALE_REPEATS = 1 if QUICK else 3
LARGEST_REPEATS = 1 if QUICK else 2  # the largest scale takes minutes per run
OUTPUT = HERE / "results"


def side_by_side(pair: dict[str, dict], repeats: int, log: Path) -> dict[str, list[Measure]]:
    """Run each command `repeats` times, interleaved, alternating which one goes first."""
    measures: dict[str, list[Measure]] = {name: [] for name in pair}
    for repeat in range(repeats):
        names = list(pair) if repeat % 2 == 0 else list(reversed(pair))
        for name in names:
            measures[name].append(measure(**pair[name], log=log))
            print(f"  {name:<9} run {repeat + 1}/{repeats}: {measures[name][-1].seconds:6.1f} s")
    return measures


def iris_measures(work: Path, env: dict[str, str], log: Path) -> dict[str, dict]:
    """`python run.py` against the bare pipeline on Iris, cold then all cached."""
    data = write_iris_path(work)
    config = run_config(REPO / "configs" / "training.yaml", work, data, "bench_iris")
    common = {"cwd": work, "env": env}
    print("Warming the store (one cached-mode run of each, not timed)")
    for command in (ours(config), bare(config)):
        measure(command, log=log, **common)
    results = {}
    for label, option in (("cold", ("--no-cache",)), ("cached", ())):
        print(f"Iris, {label}")
        runs = side_by_side(
            {
                "ours": {"command": ours(config, *option), **common},
                "bare": {"command": bare(config, *option), **common},
            },
            REPEATS,
            log,
        )
        results[label] = runs
    return results


def write_iris_path(work: Path) -> Path:
    path = work / "iris.csv"
    write_iris(path)
    return path


def scale_measures(work: Path, env: dict[str, str], log: Path) -> dict[int, dict]:
    """The training pipeline (cold) against the plain script on growing synthetic data."""
    results = {}
    for rows in SCALE_ROWS:
        data = write_iris_like(work / f"iris_like_{rows}.csv", rows)
        config = run_config(HERE / "training_scale.yaml", work, data, f"scale_{rows}")
        common = {"cwd": work, "env": env}
        print(f"Scale, {rows:,} rows")
        results[rows] = side_by_side(
            {
                "ours": {"command": ours(config, "--no-cache"), **common},
                "plain": {"command": plain(config, work / "plain"), **common},
            },
            LARGEST_REPEATS if rows == max(SCALE_ROWS) else SCALE_REPEATS,
            log,
        )
        data.unlink()
    return results


def ratio(ours_value: float, baseline: float) -> str:
    return f"{ours_value / baseline:.2f}x"


def verdict(value: float, target: float) -> str:
    return "yes" if value <= target else "**no**"


def pair_table(mine: Measure, base: Measure, targets: dict[str, float]) -> list[str]:
    """Ours against the plain script: time, CPU time and peak memory, ratios and targets."""
    time_ratio, memory_ratio = mine.seconds / base.seconds, mine.peak_mb / base.peak_mb
    return [
        "| measure | training pipeline | plain script | ratio | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| time | {mine.seconds:.0f} s | {base.seconds:.0f} s | {time_ratio:.2f}x "
        f"| ≤ {targets['time']}x | {verdict(time_ratio, targets['time'])} |",
        f"| CPU time | {mine.cpu_seconds:.0f} s | {base.cpu_seconds:.0f} s "
        f"| {mine.cpu_seconds / base.cpu_seconds:.2f}x | | |",
        f"| peak memory | {mine.peak_mb:.0f} MB | {base.peak_mb:.0f} MB "
        f"| {memory_ratio:.2f}x | ≤ {targets['memory']}x "
        f"| {verdict(memory_ratio, targets['memory'])} |",
    ]


def cli_measures(work: Path, env: dict[str, str], log: Path) -> dict[str, dict]:
    """`models` and `predict --input` against ZenML's own, on the Iris runs' store."""
    config = work / "bench_iris.yaml"  # written by iris_measures
    results = {}
    for key, pair in (
        ("models", models_pair(work, env, config)),
        ("batch", batch_pair(work, env, config, "bench_iris")),
    ):
        print(f"Commands, {key}")
        results[key] = side_by_side(pair, REPEATS, log)
    return results


# Issue 14's targets: the time ratio to the bare pipeline, measured side by side.
IRIS_TARGETS = {"cold": 1.15, "cached": 0.9}


def iris_table(results: dict[str, dict]) -> list[str]:
    targets = IRIS_TARGETS
    lines = [
        "| measure | `python run.py` | bare ZenML pipeline | time ratio | CPU time ratio "
        "| target | met | peak memory: ours / bare |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, runs in results.items():
        mine, base = median_measure(runs["ours"]), median_measure(runs["bare"])
        value = mine.seconds / base.seconds
        name = "cold (`--no-cache`)" if label == "cold" else "all cached"
        lines.append(
            f"| {name} | {mine.seconds:.1f} s | {base.seconds:.1f} s | {value:.2f}x "
            f"| {ratio(mine.cpu_seconds, base.cpu_seconds)} "
            f"| ≤ {targets[label]}x | {verdict(value, targets[label])} "
            f"| {mine.peak_mb:.0f} / {base.peak_mb:.0f} MB ({ratio(mine.peak_mb, base.peak_mb)}) |"
        )
    return lines


def scale_table(results: dict[int, dict]) -> list[str]:
    lines = [
        "| rows | training pipeline | plain script | time ratio | peak memory: pipeline "
        "| plain script | memory ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, runs in results.items():
        mine, base = median_measure(runs["ours"]), median_measure(runs["plain"])
        lines.append(
            f"| {rows:,} | {mine.seconds:.1f} s | {base.seconds:.1f} s "
            f"| {ratio(mine.seconds, base.seconds)} | {mine.peak_mb:.0f} MB "
            f"| {base.peak_mb:.0f} MB | {ratio(mine.peak_mb, base.peak_mb)} |"
        )
    largest = max(results)
    mine, base = median_measure(results[largest]["ours"]), median_measure(results[largest]["plain"])
    lines += [
        "",
        f"Targets at {largest:,} rows: time ≤ 1.5x "
        f"({verdict(mine.seconds / base.seconds, 1.5)}), "
        f"peak memory ≤ 2x ({verdict(mine.peak_mb / base.peak_mb, 2.0)}).",
    ]
    return lines


def report(
    iris: dict,
    predict: dict,
    commands: dict,
    serving: dict,
    scale: dict,
    started: float,
    loads: tuple,
) -> str:
    mode = "quick mode (`BENCH_QUICK=1`)" if QUICK else "full mode"
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("zenml", "scikit-learn", "pandas", "pandera")
    )
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({mode}) on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"in {(time.time() - started) / 60:.0f} minutes. Python {platform.python_version()}, "
        f"{versions}; {os.cpu_count()} CPU cores. Load average {loads[0]:.1f} at the start "
        f"and {loads[1]:.1f} at the end: the machine is shared with other work, so absolute "
        "seconds are noisy. Each measure and its baseline ran interleaved in the same run, as "
        "separate processes on the same warmed ZenML store; figures are medians "
        f"({REPEATS} runs each on Iris, {SCALE_REPEATS} per scale but "
        f"{LARGEST_REPEATS} at {max(SCALE_ROWS):,} rows), ratios are ratios of medians. "
        "Peak memory is the maximum "
        "resident set size of the process (`os.wait4`). Both sides run with "
        "`OMP_NUM_THREADS=1` (see below).",
        "",
        "## Iris: `python run.py` against a bare ZenML pipeline",
        "",
        "Ours is the full pipeline (config check, validation, three candidates with grid "
        "search, evaluation, promotion on the Model Control Plane, reports). The baseline "
        "([bare_pipeline.py](bare_pipeline.py)) is six ZenML steps, ZenML as shipped: load, "
        "split, fit the same three candidates with the same grid search, select. CPU time is "
        "user + system time of the process, less sensitive than wall time to other load.",
        "",
        *iris_table(iris),
        "",
        "## One-row prediction: `python run.py predict` against a plain script",
        "",
        "Ours reads the production model from the BentoML store, checks the values with the "
        "service's pydantic schema and prints species, probability and version. The baseline "
        "([plain_predict.py](plain_predict.py)) is `joblib.load` + `predict_proba` on the same "
        f"file. Fresh processes, {PREDICT_REPEATS} runs each, interleaved.",
        "",
        *predict_table(predict),
        "",
        "## Read-only and batch commands against ZenML's own",
        "",
        "`python run.py models` prints the model's versions with stages, metrics, data md5 and "
        "run; `zenml model version list` prints ZenML's table of every model version. "
        "`python run.py predict --input` runs the batch inference pipeline (production check, "
        "input staged through the artifact store, feature validation, prediction, drift check, "
        "summary) on 1,000 synthetic rows; the baseline "
        "([bare_batch_pipeline.py](bare_batch_pipeline.py)) is three ZenML steps: load, "
        f"predict with production's classifier, save. {REPEATS} runs each, interleaved.",
        "",
        *cli_table(commands),
        "",
        "## Serving: the BentoML service against FastAPI + joblib",
        "",
        "Both serve the model the Iris runs promoted, on loopback, one process each, with the "
        "same validation and the same model call ([fastapi_baseline.py](fastapi_baseline.py), "
        "the seed project's approach); the load generator ([serving.py](serving.py), hey) "
        "runs on the same 2 cores and alternates between them round by round; medians of the "
        "rounds.",
        "",
        *serving_table(serving),
        "",
        "## Scale: the training pipeline against a plain script",
        "",
        "Synthetic Iris-like data ([synthetic_iris.py](synthetic_iris.py)), config "
        "[training_scale.yaml](training_scale.yaml) (logistic regression and histogram "
        "gradient boosting, 2 settings each, 3-fold CV). Ours: `python run.py --no-cache`. "
        "Baseline: [plain_training.py](plain_training.py), the same fits on the same data "
        "with sklearn alone.",
        "",
        *scale_table(scale),
        "",
        (HERE / "findings.md").read_text().strip(),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    started, load_start = time.time(), os.getloadavg()[0]
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "runs.log"
    log.write_text("")
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-bench-"))
    try:
        env = isolated_env(work)
        iris = iris_measures(work, env, log)
        print("One-row predict")
        predict = side_by_side(predict_pair(work, env, "bench_iris"), PREDICT_REPEATS, log)
        commands = cli_measures(work, env, log)
        print("Serving")
        serving = serving_measures(work, env, "bench_iris")
        scale = scale_measures(work, env, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raw = {
        "iris": {k: {n: [asdict(m) for m in v] for n, v in r.items()} for k, r in iris.items()},
        "scale": {k: {n: [asdict(m) for m in v] for n, v in r.items()} for k, r in scale.items()},
        "predict": {n: [asdict(m) for m in v] for n, v in predict.items()},
        "commands": {
            k: {n: [asdict(m) for m in v] for n, v in r.items()} for k, r in commands.items()
        },
        "serving": serving,
    }
    (OUTPUT / ("latest-quick.json" if QUICK else "latest.json")).write_text(
        json.dumps(raw, indent=1)
    )
    loads = (load_start, os.getloadavg()[0])
    text = report(iris, predict, commands, serving, scale, started, loads)
    target = OUTPUT / "RESULTS-quick.md" if QUICK else HERE / "RESULTS.md"
    target.write_text(text)
    tables = [
        iris_table(iris),
        predict_table(predict),
        cli_table(commands),
        serving_table(serving),
        scale_table(scale),
    ]
    print("\n" + "\n\n".join("\n".join(table) for table in tables))
    print(f"\nWritten to {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
