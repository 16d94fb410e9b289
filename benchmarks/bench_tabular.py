"""`make bench-tabular`: the training pipeline against the plain script on 400,000 tabular rows.

One run of each, plain script first, on the same generated CSV (synthetic_tabular.py: 15
numeric and 5 categorical features, missing values, an 85/15 label) and the run config
built from configs/training.yaml's shipped candidates (`tabular_config`). Measured with
measure.py (wall time, CPU time, each command's own peak RSS). Writes
benchmarks/RESULTS-tabular.md; `BENCH_TABULAR_ROWS` changes the size (other sizes are
written to benchmarks/results/; a quick check: 20000).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.measure import measure
from benchmarks.run_benchmarks import pair_table
from benchmarks.synthetic_tabular import tabular_config, write_tabular
from benchmarks.workspace import REPO, isolated_env, ours, plain

HERE = REPO / "benchmarks"
OUTPUT = HERE / "results"
DEFAULT_ROWS = 400_000
ROWS = int(os.environ.get("BENCH_TABULAR_ROWS", str(DEFAULT_ROWS)))
TARGETS = {"time": 1.5, "memory": 2.0}  # ours / plain script, from the issue

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# ZenML's "Step `x` has finished in `1m3s`." (string_utils.get_human_readable_time)
_STEP = re.compile(r"Step `?(\w+)`? has finished in `?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?([\d.]+)s")


def step_seconds(log: str) -> dict[str, float]:
    """Each pipeline step's duration, as ZenML logs it."""
    durations = {}
    for name, days, hours, minutes, seconds in _STEP.findall(_COLOUR.sub("", log)):
        durations[name] = (
            int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
        ) + float(seconds)
    return durations


def chosen_by_ours(log: str) -> str:
    """The candidate `python run.py`'s summary names as chosen."""
    found = re.search(r"^Chosen model +(\w+)", _COLOUR.sub("", log), flags=re.MULTILINE)
    if not found:
        raise ValueError("no `Chosen model` line in the run's output")
    return found.group(1)


def plain_summary(log: str) -> dict:
    """The plain script's JSON summary: its last line that is a JSON object."""
    lines = [line for line in log.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def tabular_pair(rows: int, logs: Path) -> dict:
    """One plain-script run and one cold `python run.py --no-cache` on the same CSV."""
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-tabular-"))
    try:
        env = isolated_env(work)
        started = time.perf_counter()
        data = write_tabular(work / f"tabular_{rows}.csv", rows)
        written = time.perf_counter() - started
        print(f"Wrote {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB) in {written:.0f} s")
        config = tabular_config(work, data, f"tabular_{rows}")
        plain_log, ours_log = logs / "tabular-plain.log", logs / "tabular-ours.log"
        for log in (plain_log, ours_log):
            log.write_text("")
        results = {"plain": measure(plain(config, work / "plain"), work, env, plain_log)}
        print(f"  plain: {results['plain']}")
        results["ours"] = measure(ours(config, "--no-cache"), work, env, ours_log)
        print(f"  ours:  {results['ours']}")
        return {
            **results,
            "megabytes": data.stat().st_size / 1e6,
            "plain_summary": plain_summary(plain_log.read_text()),
            "steps": step_seconds(ours_log.read_text()),
            "ours_chosen": chosen_by_ours(ours_log.read_text()),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def candidate_lines(summary: dict, steps: dict[str, float], ours_chosen: str) -> list[str]:
    """Per candidate: the plain script's CV score and seconds (search and final fit) and
    the pipeline's train_<name> step."""
    lines = [
        f"| candidate | chosen settings | CV {summary['cv_metric']} | plain script "
        "| training pipeline (`train_<name>` step) | chosen by |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, figures in summary["candidates"].items():
        step = steps.get(f"train_{name}")
        picks = (("plain script", summary["chosen"]), ("pipeline", ours_chosen))
        marks = [who for who, pick in picks if pick == name]
        settings = figures.get("best_params", {})
        chosen_settings = ", ".join(f"{key}={value}" for key, value in settings.items()) or "-"
        lines.append(
            f"| {name} | {chosen_settings} | {figures['cv_score']:.4f} "
            f"| {figures['seconds']:.0f} s | {'-' if step is None else f'{step:.0f} s'} "
            f"| {', '.join(marks)} |"
        )
    return lines


class LoadWatch:
    """The highest 1-minute load average seen while the runs go (sampled every 15 s)."""

    def __init__(self) -> None:
        self.start, self.highest = os.getloadavg()[0], os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(15):
            self.highest = max(self.highest, os.getloadavg()[0])

    def stop(self) -> tuple[float, float, float]:
        """Load average at the start, the highest seen, at the end."""
        self._stop.set()
        end = os.getloadavg()[0]
        return self.start, max(self.highest, end), end


def report(rows: int, pair: dict, minutes: float, loads: tuple[float, float, float]) -> str:
    mine, base = pair["ours"], pair["plain"]
    summary, steps = pair["plain_summary"], pair["steps"]
    other = {name: s for name, s in steps.items() if not name.startswith("train_")}
    in_steps = sum(steps.values())
    return "\n".join(
        [
            "# Tabular benchmark",
            "",
            f"Written by `make bench-tabular` on {time.strftime('%Y-%m-%d %H:%M')}, in "
            f"{minutes:.0f} minutes, on {os.cpu_count()} CPU cores (load average "
            f"{loads[0]:.1f} at the start, {loads[1]:.1f} at the highest, {loads[2]:.1f} at "
            f"the end; the machine is shared). {rows:,} synthetic rows "
            f"({pair['megabytes']:.0f} MB of CSV, "
            "[synthetic_tabular.py](synthetic_tabular.py)): 15 numeric features (three with "
            "3 % missing, imputed by the median), 5 categorical ones (3 to 12 learned "
            "categories, one with 2 % missing), an 85/15 yes/no label. The run config is "
            "configs/training.yaml with this dataset, `cv_metric: roc_auc` and a balanced "
            "accuracy gate: the shipped candidates, search spaces, 5 folds and `cv_max_rows` "
            f"unchanged (the search ran on {summary['cv_rows']:,} of the "
            f"{summary['train_rows']:,} training rows; the chosen settings were then fitted "
            "on all of them). Ours: `python run.py --no-cache` (validation, artifacts in the "
            "local store, evaluation, promotion, export). Baseline: "
            "[plain_training.py](plain_training.py), the same preprocessing, searches and "
            "fits with pandas and scikit-learn alone. One run each, plain script first, "
            "`OMP_NUM_THREADS=1`; peak memory is the process's maximum resident set size.",
            "",
            *pair_table(mine, base, TARGETS),
            "",
            "Per candidate (the plain script's own timer; the pipeline's step durations as "
            "ZenML logs them, artifact saving included):",
            "",
            *candidate_lines(summary, steps, pair["ours_chosen"]),
            "",
            "The pipeline's other steps: "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in other.items())
            + f"; outside its steps (start-up, ZenML's run bookkeeping, the export to "
            f"BentoML, the summary) {mine.seconds - in_steps:.0f} s. The chosen model "
            f"scored test ROC AUC {summary['roc_auc']:.4f}, balanced accuracy "
            f"{summary['balanced_accuracy']:.4f} in the plain script.",
            "",
        ]
    )


def main() -> None:
    started, loads = time.time(), LoadWatch()
    OUTPUT.mkdir(exist_ok=True)
    pair = tabular_pair(ROWS, OUTPUT)
    text = report(ROWS, pair, (time.time() - started) / 60, loads.stop())
    target = HERE / "RESULTS-tabular.md" if ROWS == DEFAULT_ROWS else OUTPUT / "RESULTS-tabular.md"
    target.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
