"""Real runs of `python run.py`: from another folder with a relative data path, the duplicate
rows note, and a candidate whose fit fails stopping the run with production unchanged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from steps.data import file_md5
from tests.helpers import REPO, run_cli, shipped_config, training_config

pytestmark = pytest.mark.slow

MODEL = "iris_checked"


def only(*names: str) -> dict:
    candidates = shipped_config()["parameters"]["candidates"]
    return {name: candidates[name] for name in names}


def production_number() -> int:
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION).number


@pytest.fixture(scope="module")
def trained(iris_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    """Trained from a folder outside the project, the data given relative to the project."""
    folder = tmp_path_factory.mktemp("elsewhere")
    relative = Path(os.path.relpath(iris_csv, REPO))
    assert not relative.is_absolute() and not (folder / relative).exists()
    config = training_config(
        folder, relative, MODEL, candidates=only("logistic_regression", "k_nearest_neighbors")
    )
    result = run_cli("--config", str(config), cwd=folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, folder


def test_relative_data_path_is_read_from_the_project_root(trained, iris_csv):
    result, folder = trained
    assert f"Data md5       {file_md5(iris_csv)}" in result.stdout
    assert "PROMOTED to production" in result.stdout
    assert (folder / "reports" / "metrics.json").is_file()


def test_duplicate_rows_are_noted_not_refused(trained):
    result, _ = trained
    assert re.search(r"^Data note\s+1 duplicate row \(kept", result.stdout, re.MULTILINE)
    assert "1 duplicate row (line 144" in result.stdout + result.stderr  # the step's warning
    run_name = re.search(r"^Run\s+(\S+)", result.stdout, re.MULTILINE).group(1)
    step = Client().get_pipeline_run(run_name).steps["validate_data"]
    assert step.outputs["validated_data"][0].run_metadata["duplicate_rows"] == 1


def test_a_fit_that_fails_stops_the_run_and_production_stays(trained, tmp_path, iris_csv):
    before = production_number()
    knn = only("k_nearest_neighbors")
    knn["k_nearest_neighbors"]["search_space"] = {"n_neighbors": [3, 500]}
    config = training_config(tmp_path, iris_csv, MODEL, candidates=knn)
    result = run_cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        "Training stopped at step train_k_nearest_neighbors: CandidateSearchFailed: "
        "candidate 'k_nearest_neighbors' (sklearn.neighbors.KNeighborsClassifier) failed"
    ) in result.stderr
    assert "n_neighbors = 500" in result.stderr
    assert "The production model was not changed." in result.stderr
    assert "Traceback" not in result.stdout + result.stderr  # the step's log keeps it
    assert production_number() == before
