"""Another tabular classification CSV goes through every command by its config alone.

24 features whose names hold spaces, `/` and parentheses, 2 classes: train, predict one row
and a file, serve, then a bento exported, imported into an empty store and served there,
with no setting but `--config` (no SERVING_MODEL, no second config file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from zenml.client import Client
from zenml.enums import ModelStages

from tests.helpers import REPO, bentoml, free_port, run_cli, training_config
from tests.service.conftest import start_server, stop_server, wait_ready

pytestmark = pytest.mark.slow

MODEL = "tumour_classifier"
CLASSES = ["benign", "malignant"]
NAMES = [
    f"{kind} {measure}"
    for kind in ("mean", "worst", "se")
    for measure in (
        "radius (mm)",
        "texture (a.u.)",
        "area/perimeter",
        "smoothness (1/mm)",
        "concavity",
        "symmetry (%)",
        "fractal dimension",
        "compactness/area",
    )
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    features, labels = make_classification(
        n_samples=300, n_features=len(NAMES), n_informative=8, class_sep=1.5, random_state=0
    )
    frame = pd.DataFrame(features.round(4), columns=NAMES)
    frame["diagnosis"] = [CLASSES[label] for label in labels]
    path = tmp_path_factory.mktemp("tumours") / "tumours.csv"
    frame.to_csv(path, index=False)
    return path, frame


def config_for(folder: Path, path: Path) -> Path:
    dataset = {
        "path": str(path),
        "target": "diagnosis",
        "classes": CLASSES,
        "min_rows_per_class": 20,
        "features": {name: {"min": -50.0, "max": 50.0} for name in NAMES},
    }
    candidates = {
        "logistic_regression": {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"max_iter": 1000},
            "search_space": {"C": [0.1, 1.0]},
        },
        "k_nearest_neighbors": {
            "estimator": "sklearn.neighbors.KNeighborsClassifier",
            "search_space": {"n_neighbors": [5, 15]},
        },
    }
    return training_config(
        folder,
        path,
        MODEL,
        dataset=dataset,
        candidates=candidates,
        quality_gate={"metric": "macro_f1", "min_value": 0.6},
    )


def check_served(url: str, frame: pd.DataFrame) -> None:
    card = httpx.get(f"{url}/model", timeout=10).json()
    assert card["model"] == MODEL
    assert [feature["name"] for feature in card["schema"]["features"]] == NAMES
    rows = frame.head(20)
    records = rows[NAMES].to_dict(orient="records")
    response = httpx.post(f"{url}/predict", json={"records": records}, timeout=30)
    assert response.status_code == 200, response.text
    labels = [prediction["label"] for prediction in response.json()["predictions"]]
    assert set(labels) <= set(CLASSES)
    assert sum(map(str.__eq__, labels, rows["diagnosis"])) >= 15  # a model, not a constant


def test_a_dataset_with_other_columns_goes_through_every_command(dataset, tmp_path):
    path, frame = dataset
    config = config_for(tmp_path, path)
    trained = run_cli("--config", str(config), cwd=tmp_path)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "PROMOTED to production" in trained.stdout
    assert f"(make serve CONFIG={config})" in trained.stdout  # the command that serves it
    version = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    assert version.run_metadata["features"] == NAMES
    assert version.run_metadata["classes"] == CLASSES

    # One row, by the config alone: 24 values in the config's feature order.
    row = frame.iloc[0]
    one = run_cli("--config", str(config), "predict", "--", *map(str, row[NAMES]), cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    assert one.stdout.split()[0] in CLASSES
    assert f"{MODEL} version {version.number}" in one.stdout
    too_few = run_cli("--config", str(config), "predict", "1", "2", cwd=tmp_path)
    assert too_few.returncode == 2 and "expected 24 values (mean radius (mm)" in too_few.stderr

    # A file, through the batch inference pipeline, with no second config.
    source = tmp_path / "new.csv"
    frame[NAMES].head(40).to_csv(source, index=False)
    batch = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "new.predictions.csv")
    assert len(predictions) == 40
    assert set(predictions["predicted_label"]) <= set(CLASSES)

    # `python run.py --config X serve`, which `make serve CONFIG=X` runs.
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "run.py"),
            "--config",
            str(config),
            "serve",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        check_served(f"http://127.0.0.1:{port}", frame)
    finally:
        stop_server(process)

    # A bento named after the model, carried to a store that never saw it, served there.
    built = run_cli("--config", str(config), "bento", cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tag = built.stdout.strip().rpartition("bentoml serve ")[2]
    assert tag.startswith(f"{MODEL}_service:")
    archive = tmp_path / "tumours.bento"
    bentoml("export", tag, str(archive), home=Path(os.environ["BENTOML_HOME"]), cwd=tmp_path)
    elsewhere = tmp_path / "another-machine"
    bentoml("import", str(archive), home=elsewhere, cwd=tmp_path)
    environment = {"BENTOML_HOME": str(elsewhere), "SERVING_MODEL": ""}
    url, process = start_server(tag, tmp_path, tmp_path / "bento.log", **environment)
    try:
        check_served(url, frame)
    finally:
        stop_server(process)
