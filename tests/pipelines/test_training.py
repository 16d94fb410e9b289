"""The real training pipeline, run as a user runs it (`python run.py`), on a temporary store.

Each test trains a model of its own name, so their production lineages do not meet.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from zenml.client import Client
from zenml.enums import ExecutionStatus, ModelStages

from deploy.model_store import latest_export
from steps.data import file_md5
from tests.helpers import run_cli, shipped_config, training_config

pytestmark = pytest.mark.slow

WEAK_CANDIDATE = {
    "stump": {
        "estimator": "sklearn.tree.DecisionTreeClassifier",
        "params": {"max_depth": 1},
        "scale_features": False,
    }
}


def train(config: Path, cwd: Path, *args: str, expect_success: bool = True):
    result = run_cli("--config", str(config), *args, cwd=cwd)
    if expect_success:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def run_of(result) -> str:
    return re.search(r"^Run\s+(\S+)", result.stdout, re.MULTILINE).group(1)


def production(model_name: str):
    return Client().get_model_version(model_name, ModelStages.PRODUCTION)


def statuses(run_name: str) -> dict[str, ExecutionStatus]:
    return {name: step.status for name, step in Client().get_pipeline_run(run_name).steps.items()}


def test_first_run_promotes_and_records_lineage(tmp_path, iris_csv):
    config = training_config(tmp_path, iris_csv, "iris_lineage")
    result = train(config, tmp_path)

    for label in ("Run", "Data md5", "Chosen model", "CV accuracy", "Test metrics"):
        assert re.search(rf"^{label}\s+\S", result.stdout, re.MULTILINE), label
    assert "PROMOTED to production" in result.stdout
    assert "Production now version 1" in result.stdout

    version = production("iris_lineage")
    assert version.number == 1
    metadata = version.run_metadata
    assert metadata["data_md5"] == file_md5(iris_csv)
    assert metadata["test_accuracy"] >= 0.9
    assert metadata["promotion"]["promote"] is True
    assert metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert set(metadata["hyperparameters"]) and metadata["cv_score"] > 0.9
    assert metadata["cv_metric"] == "accuracy"

    run = Client().get_pipeline_run(run_of(result))
    raw_data = run.steps["load_data"].outputs["raw_data"][0].run_metadata
    assert raw_data["rows"] == 150
    assert raw_data["data_md5"] == metadata["data_md5"]
    assert raw_data["path"] == str(iris_csv)
    trained = {name for name in run.steps if name.startswith("train_")}
    candidates = shipped_config()["parameters"]["candidates"]
    assert trained == {f"train_{name}" for name in candidates}  # one step per config entry
    row = pd.DataFrame([[5.1, 3.5, 1.4, 0.2]], columns=metadata["features"])
    assert version.get_artifact("classifier").load().predict(row).tolist() == ["setosa"]

    # Exported for serving, labelled so the served model leads back here in one hop.
    exported = latest_export("iris_lineage")
    assert f"Serving        version 1: BentoML model {exported.tag}" in result.stdout
    assert exported.labels == {
        "zenml_model": "iris_lineage",
        "zenml_model_version": "1",
        "zenml_run_id": str(run.id),
        "data_md5": file_md5(iris_csv),
    }
    assert exported.metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert [f["name"] for f in exported.metadata["features"]] == metadata["features"]
    assert exported.load().predict(row).tolist() == ["setosa"]

    report = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert report["accuracy"] == metadata["test_accuracy"]
    # The confusion matrix a user opens: a picture with the heat map drawn on it.
    with Image.open(tmp_path / "reports" / "confusion_matrix.png") as picture:
        assert picture.format == "PNG"
        assert min(picture.size) >= 300
        pixels = np.asarray(picture.convert("RGB"), dtype=int)
    red, blue = pixels[..., 0], pixels[..., 2]
    assert (pixels != 255).any(axis=-1).mean() > 0.1  # not a blank canvas
    assert ((blue > 100) & (blue - red > 80)).mean() > 0.02  # the well-filled (diagonal) cells


def test_cold_run_then_cached_rerun_then_changed_data_reruns_from_load(tmp_path, iris_csv):
    data = tmp_path / "iris.csv"
    data.write_bytes(iris_csv.read_bytes())
    config = training_config(tmp_path, data, "iris_cache")
    cold = statuses(run_of(train(config, tmp_path, "--no-cache")))
    assert set(cold.values()) == {ExecutionStatus.COMPLETED}

    warm = statuses(run_of(train(config, tmp_path)))
    assert warm.pop("promote_model") == ExecutionStatus.COMPLETED
    assert set(warm.values()) == {ExecutionStatus.CACHED}
    # The cached re-run's classifier is production's own: nothing to decide, production
    # and its export stay version 1, and BentoML's store gets no second copy.
    assert production("iris_cache").number == 1
    rerun = Client().get_model_version("iris_cache", 2).run_metadata["promotion"]
    assert rerun["promote"] is False
    assert rerun["reason"].startswith("its classifier is production's own (version 1's")
    assert (
        rerun["production_score_on_this_test"]
        == production("iris_cache").run_metadata["test_accuracy"]
    )
    assert latest_export("iris_cache").labels["zenml_model_version"] == "1"
    exports = Path(os.environ["BENTOML_HOME"]) / "models" / "iris_cache"
    assert len(list(exports.glob("*/model.yaml"))) == 1

    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    changed = statuses(run_of(train(config, tmp_path)))
    assert changed["load_data"] == ExecutionStatus.COMPLETED
    assert changed["validate_data"] == ExecutionStatus.COMPLETED
    assert production("iris_cache").run_metadata["data_md5"] == file_md5(data)


def test_weaker_model_is_not_promoted_and_production_stays(tmp_path, iris_csv):
    train(training_config(tmp_path, iris_csv, "iris_guarded"), tmp_path)
    before = production("iris_guarded")

    weak = training_config(
        tmp_path,
        iris_csv,
        "iris_guarded",
        candidates=WEAK_CANDIDATE,
        quality_gate={"metric": "accuracy", "min_value": 0.5},
    )
    result = train(weak, tmp_path)
    assert "not promoted" in result.stdout
    assert "worse than production's" in result.stdout

    after = production("iris_guarded")
    assert after.id == before.id
    # ... and the model served is still production's.
    assert latest_export("iris_guarded").labels["zenml_model_version"] == str(before.number)
    assert f"Serving        version {before.number}:" in result.stdout
    weak_version = Client().get_model_version("iris_guarded", 2)
    assert weak_version.stage is None
    assert weak_version.run_metadata["promotion"]["promote"] is False


def test_bad_data_stops_before_training_and_production_is_unchanged(tmp_path, iris_csv):
    train(training_config(tmp_path, iris_csv, "iris_bad_data"), tmp_path)
    before = production("iris_bad_data")

    lines = iris_csv.read_text().splitlines()
    lines[5] = lines[5].replace("setosa", "rose")
    lines[9] = "abc," + lines[9].split(",", 1)[1]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = train(training_config(tmp_path, bad, "iris_bad_data"), tmp_path, expect_success=False)

    assert result.returncode == 1
    assert "2 problems found" in result.stderr
    assert "'must be a number' at line 10" in result.stderr
    assert "'rose'" in result.stderr
    assert "The production model was not changed." in result.stderr
    assert "Traceback" not in result.stdout + result.stderr

    failed = Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]
    assert failed.status == ExecutionStatus.FAILED
    assert not any(name.startswith("train_") for name in failed.steps)
    assert production("iris_bad_data").id == before.id
    # The failure stays on the run's step; the run leaves no model version behind.
    assert failed.steps["validate_data"].run_metadata["failed_step"] == "validate_data"
    assert "2 problems found" in failed.steps["validate_data"].run_metadata["failure"]
    versions = Client().list_model_versions(model="iris_bad_data", size=100).items
    numbers = [version.number for version in versions]
    assert numbers == [before.number]


def test_bad_config_is_refused_before_any_run(tmp_path, iris_csv):
    config = training_config(tmp_path, iris_csv, "iris_bad_config", split={"test_size": 1.5})
    result = train(config, tmp_path, expect_success=False)
    assert result.returncode == 2
    assert "parameters.split.test_size: Input should be less than 1" in result.stderr
    assert "Traceback" not in result.stderr
