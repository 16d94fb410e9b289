"""Smoke tests of the benchmark code, so `make bench` cannot rot: no timings asserted here."""

from __future__ import annotations

import json
import os
import re
import sys
import time

import joblib
import pytest
import yaml

from benchmarks.measure import BenchmarkError, measure
from benchmarks.synthetic_iris import CLASSES, FEATURES, write_iris_like
from benchmarks.workspace import REPO, bare, plain, run_config
from steps.config_models import check_training_config
from steps.data import read_dataset
from steps.validation import find_violations


def test_synthetic_data_passes_the_shipped_validation(tmp_path):
    path = write_iris_like(tmp_path / "iris_like.csv", rows=3000, seed=1)
    frame = read_dataset(path)
    spec = check_training_config(REPO / "configs" / "training.yaml").dataset
    assert find_violations(frame, spec) == []
    assert list(frame.columns) == [*FEATURES, "species"]
    assert frame["species"].value_counts().to_dict() == {label: 1000 for label in CLASSES}


@pytest.mark.slow
def test_plain_script_trains_the_scale_candidates(tmp_path):
    data = write_iris_like(tmp_path / "iris_like.csv", rows=600)
    config = run_config(REPO / "benchmarks" / "training_scale.yaml", tmp_path, data, "smoke")
    log = tmp_path / "run.log"
    started = time.perf_counter()
    result = measure(plain(config, tmp_path / "plain"), cwd=tmp_path, env=dict(os.environ), log=log)
    elapsed = time.perf_counter() - started
    idle = measure(
        [sys.executable, "-c", "pass"],
        cwd=tmp_path,
        env=dict(os.environ),
        log=tmp_path / "idle.log",
    )
    # Figures that hold together: the run's wall time fits in the call, its CPU time in what
    # the cores could give, and a training lasts longer (and weighs no less) than an idle Python.
    assert 0 < result.seconds <= elapsed
    assert 0 < result.cpu_seconds <= result.seconds * os.cpu_count() + 0.1
    assert idle.seconds < result.seconds and idle.peak_mb <= result.peak_mb
    summary = json.loads(log.read_text().strip().splitlines()[-1])
    scale_config = yaml.safe_load((REPO / "benchmarks" / "training_scale.yaml").read_text())
    assert summary["chosen"] in scale_config["parameters"]["candidates"]
    assert summary["accuracy"] > 0.8
    model = joblib.load(tmp_path / "plain" / "model.joblib")
    assert set(model.classes_) == set(CLASSES)


def test_a_small_command_measures_its_own_peak_not_its_callers(tmp_path):
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # resident, not just reserved
    idle = measure(
        [sys.executable, "-c", "pass"], cwd=tmp_path, env=dict(os.environ), log=tmp_path / "run.log"
    )
    assert idle.peak_mb < 100, idle  # a bare Python is some 15 MB


def test_a_failed_command_stops_the_benchmark_with_its_output(tmp_path):
    command = [sys.executable, "-c", "import sys; print('broken on purpose'); sys.exit(3)"]
    with pytest.raises(BenchmarkError) as error:
        measure(command, cwd=tmp_path, env=dict(os.environ), log=tmp_path / "run.log")
    assert "exited with 3" in str(error.value)
    assert "broken on purpose" in str(error.value)


@pytest.mark.slow
def test_bare_pipeline_runs_on_iris(tmp_path, iris_csv):
    config = run_config(REPO / "configs" / "training.yaml", tmp_path, iris_csv, "bare_smoke")
    log = tmp_path / "run.log"
    measure(bare(config, "--no-cache"), cwd=tmp_path, env=dict(os.environ), log=log)
    output = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())  # ZenML colours its log lines
    for step in ("load_csv", "split", "fit_first", "fit_second", "select"):
        assert f"Step {step} has finished" in output


def test_image_table_compares_sizes_with_the_default_recipe():
    from benchmarks.image_build import image_table

    results = {
        "base image": {"seconds": 50, "mb": 186},
        "ours": {"seconds": 40, "mb": 550},
        "BentoML default recipe": {"seconds": 100, "mb": 1100},
        "ours, offline": {"seconds": 35, "mb": 545},
    }
    rows = {line.split(" | ")[0].strip("| "): line for line in image_table(results)[2:]}
    assert rows["ours"] == "| ours | 40 s | 550 MB | 0.40x | 0.50x |"
    assert rows["BentoML default recipe"].endswith("| 1.00x | 1.00x |")
    assert rows["base image"].endswith("| - | - |")
