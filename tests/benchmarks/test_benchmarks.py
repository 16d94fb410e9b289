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


# The tabular benchmark (make bench-tabular): its data, its config, its baseline.


def tabular_files(folder, rows: int, seed: int = 0):
    from benchmarks.synthetic_tabular import tabular_config, write_tabular

    data = write_tabular(folder / "tabular.csv", rows, seed)
    return data, tabular_config(folder, data, "tabular_smoke")


def test_tabular_data_has_the_promised_columns_gaps_and_imbalance(tmp_path):
    from benchmarks.synthetic_tabular import (
        CATEGORICAL,
        CATEGORICAL_MISSING,
        FEATURES,
        NUMERIC_MISSING,
        TARGET,
    )

    data, config = tabular_files(tmp_path, rows=20000, seed=3)
    spec = check_training_config(config).dataset
    frame = read_dataset(data, read=spec.read)
    assert find_violations(frame, spec) == []
    assert list(frame.columns) == [*FEATURES, TARGET] and len(FEATURES) == 20
    assert len(spec.numeric) == 15 and len(spec.categorical) == 5
    assert all(3 <= frame[name].nunique() <= 12 for name in spec.categorical)
    assert set(frame[list(spec.categorical)].stack().dropna().unique()) == {
        value for values in CATEGORICAL.values() for value in values
    }
    missing = frame[FEATURES].isna().mean()
    assert all(0.02 < missing[name] < 0.04 for name in NUMERIC_MISSING)
    assert all(0.01 < missing[name] < 0.03 for name in CATEGORICAL_MISSING)
    gaps = [*NUMERIC_MISSING, *CATEGORICAL_MISSING]
    assert (missing.drop(gaps) == 0).all()
    for name, feature in spec.numeric.items():  # whole columns parse as numbers in range
        values = frame[name].astype(float)
        assert values.min() >= feature.min and values.max() <= feature.max
    assert frame[TARGET].value_counts(normalize=True).round(3).to_dict() == {
        "no": 0.85,
        "yes": 0.15,
    }
    positive = frame[TARGET] == "yes"
    by_plan = positive.groupby(frame["plan"]).mean()
    assert by_plan["basic"] > by_plan["pro"] + 0.05  # the label depends on the categories
    score_a = frame["score_a"].astype(float)
    assert score_a[positive].mean() > score_a[~positive].mean() + 0.2  # and on the numbers


def test_tabular_config_trains_the_shipped_candidates(tmp_path):
    _, config = tabular_files(tmp_path, rows=100)
    shipped = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())["parameters"]
    parameters = yaml.safe_load(config.read_text())["parameters"]
    for key in ("candidates", "cv_folds", "cv_max_rows", "split", "seed"):
        assert parameters[key] == shipped[key], key
    checked = check_training_config(config)
    assert checked.cv_metric == "roc_auc" and checked.quality_gate.metric == "balanced_accuracy"
    assert {name for name, f in checked.dataset.numeric.items() if f.missing == "median"} == {
        "income",
        "tenure_months",
        "latency_ms",
    }
    assert all(feature.learned for feature in checked.dataset.categorical.values())


def test_plain_script_preprocesses_like_the_pipeline(tmp_path):
    import numpy as np
    from sklearn.pipeline import Pipeline

    from benchmarks import plain_training
    from steps.preprocessing import preprocessing_steps
    from steps.validation import learn_categories, validate_dataset

    data, config = tabular_files(tmp_path, rows=2000, seed=5)
    spec = check_training_config(config).dataset
    clean = validate_dataset(read_dataset(data, read=spec.read), spec, source=str(data))
    schema = learn_categories(clean, spec)
    dataset = yaml.safe_load(config.read_text())["parameters"]["dataset"]
    frame = plain_training.read_csv(dataset)
    categories = plain_training.learned_categories(dataset, frame)
    assert categories == {name: f.categories for name, f in schema.categorical.items()}
    features = spec.feature_names
    for scale in (True, False):
        ours = Pipeline(preprocessing_steps(schema, scale)).fit(clean[features])
        theirs = Pipeline(plain_training.preprocessing(dataset, categories, scale))
        theirs.fit(frame[features])
        names = list(ours[-1].get_feature_names_out())
        assert list(theirs[-1].get_feature_names_out()) == names
        assert len(names) == 15 + sum(len(values) for values in categories.values())
        np.testing.assert_allclose(
            theirs.transform(frame[features]), ours.transform(clean[features]), rtol=1e-12
        )
    # Iris: both keep the plain scaler (or nothing) and no column transformer
    iris = yaml.safe_load((REPO / "benchmarks" / "training_scale.yaml").read_text())
    iris_spec = check_training_config(REPO / "benchmarks" / "training_scale.yaml").dataset
    for scale in (True, False):
        plain_steps = plain_training.preprocessing(iris["parameters"]["dataset"], {}, scale)
        pipeline_steps = preprocessing_steps(iris_spec, scale)
        assert [type(step) for _, step in plain_steps] == [type(step) for _, step in pipeline_steps]


def test_plain_script_scores_cv_like_the_pipeline():
    from benchmarks.plain_training import scoring
    from steps.candidates import scorer
    from steps.config_models import METRICS

    classes = ["no", "yes"]
    for metric in [*METRICS, "recall:yes", "precision:no"]:
        assert repr(scoring(metric, classes)) == repr(scorer(metric, classes)), metric
    assert scoring("roc_auc", ["a", "b", "c"]) == scorer("roc_auc", ["a", "b", "c"])


def test_tabular_report_reads_the_runs_and_says_met_or_not():
    from benchmarks.bench_tabular import chosen_by_ours, report, step_seconds
    from benchmarks.measure import Measure

    log = (
        "\x1b[37mStep \x1b[0m\x1b[38;5;105mload_data\x1b[37m has finished in "
        "\x1b[0m\x1b[38;5;105m1.062s\x1b[37m.\x1b[0m\n"
        "Step `train_random_forest` has finished in `1h2m3s`.\n"
        "Step train_k_nearest_neighbors has finished in 4m0s.\n"
        "Chosen model   random_forest (max_depth=None)\n"
    )
    steps = step_seconds(log)
    assert steps == {
        "load_data": 1.062,
        "train_random_forest": 3723.0,
        "train_k_nearest_neighbors": 240.0,
    }
    assert chosen_by_ours(log) == "random_forest"
    summary = {
        "chosen": "k_nearest_neighbors",
        "cv_metric": "roc_auc",
        "cv_rows": 20000,
        "train_rows": 320000,
        "roc_auc": 0.85,
        "balanced_accuracy": 0.62,
        "candidates": {
            "random_forest": {
                "cv_score": 0.81,
                "best_params": {"max_depth": None, "min_samples_leaf": 3},
                "seconds": 3600.0,
            },
            "k_nearest_neighbors": {"cv_score": 0.82, "seconds": 200.0},
        },
    }
    pair = {
        "ours": Measure(seconds=4000, peak_mb=2100, cpu_seconds=3900),
        "plain": Measure(seconds=3000, peak_mb=1000, cpu_seconds=2950),
        "megabytes": 47,
        "plain_summary": summary,
        "steps": steps,
        "ours_chosen": "random_forest",
    }
    text = report(400_000, pair, 120, (1.0, 3.5, 2.0))
    assert "| time | 4000 s | 3000 s | 1.33x | ≤ 1.5x | yes |" in text
    assert "| peak memory | 2100 MB | 1000 MB | 2.10x | ≤ 2.0x | **no** |" in text
    assert (
        "| random_forest | max_depth=None, min_samples_leaf=3 | 0.8100 | 3600 s | 3723 s "
        "| pipeline |"
    ) in text
    assert "| k_nearest_neighbors | - | 0.8200 | 200 s | 240 s | plain script |" in text
    assert "3.5 at the highest" in text


@pytest.mark.slow
def test_plain_script_and_pipeline_choose_the_same_candidate(tmp_path):
    from benchmarks.bench_tabular import chosen_by_ours, plain_summary, step_seconds
    from tests.helpers import run_cli

    _, config = tabular_files(tmp_path, rows=3000)
    log = tmp_path / "plain.log"
    # One OpenMP thread, as the benchmark sets: the plain script has no guard of its own, and
    # histogram gradient boosting stalled for minutes with two on a busy machine.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    measure(plain(config, tmp_path / "plain"), cwd=tmp_path, env=env, log=log)
    summary = plain_summary(log.read_text())
    assert joblib.load(tmp_path / "plain" / "model.joblib").classes_.tolist() == ["no", "yes"]
    result = run_cli("--config", str(config), "--no-cache", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert chosen_by_ours(output) == summary["chosen"]
    cv_score = re.search(r"^CV roc_auc +([\d.]+)", output, flags=re.MULTILINE)
    assert cv_score and float(cv_score.group(1)) == round(summary["cv_score"], 4)  # same search
    candidates = yaml.safe_load(config.read_text())["parameters"]["candidates"]
    assert set(summary["candidates"]) == set(candidates)
    assert {f"train_{name}" for name in candidates} <= set(step_seconds(output))


# The serving benchmark's inference-log comparison (make bench-serving), without servers.


def test_the_log_comparison_pairs_rounds_and_measures_the_log_itself():
    from benchmarks.bench_serving import log_own_cost, log_table

    on_path, in_all = log_own_cost(requests=300)
    assert 0 < on_path < in_all
    figures = {
        "cpu_ms@1": [1.0, 1.2], "cpu_ms@32": [0.6, 0.8], "rps@1": [700, 600],
        "rps@32": [1500, 1100], "p99@1": [2, 3], "p99@32": [30, 40], "side_us@32": [4, 5],
        "failed@1": [0, 0], "failed@32": [0, 0],
    }  # fmt: skip
    slower = {key: [value * 1.1 for value in values] for key, values in figures.items()}
    table = "\n".join(log_table({"log on": slower, "log off": figures}, (on_path, in_all)))
    # Each round is compared with its own pair: the rounds' spread does not enter the ratio.
    assert "| throughput, 32 clients (req/s) | 1.43e+03 | 1.3e+03 | 1.100x | 1.10-1.10 |" in table
    assert "throughput with the log on within 5 % of off: 1.100x (yes)" in table
    assert "server CPU per request 1.100x (**no**)" in table
    assert "besides the event loop's, 32 clients (µs per request) | 5.0 | 4.5 |" in table
