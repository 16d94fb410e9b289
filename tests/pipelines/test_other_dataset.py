"""Another tabular classification CSV trains through the same code: only the config changes."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import make_classification
from zenml.client import Client
from zenml.enums import ModelStages

from tests.helpers import run_cli, training_config

pytestmark = pytest.mark.slow


def test_a_generated_dataset_with_other_columns_and_classes_trains(tmp_path):
    features, labels = make_classification(
        n_samples=400,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=4,
        class_sep=2.0,
        random_state=0,
    )
    names = ["pressure", "temperature", "humidity", "wind", "altitude"]
    classes = ["calm", "breezy", "stormy", "foggy"]
    frame = pd.DataFrame(features.round(4), columns=names)
    frame["weather"] = [classes[label] for label in labels]
    path = tmp_path / "weather.csv"
    frame.to_csv(path, index=False)

    dataset = {
        "path": str(path),
        "target": "weather",
        "classes": classes,
        "min_rows_per_class": 20,
        "features": {name: {"min": -20.0, "max": 20.0} for name in names},
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
    config = training_config(
        tmp_path,
        path,
        "weather_classifier",
        dataset=dataset,
        candidates=candidates,
        quality_gate={"metric": "macro_f1", "min_value": 0.6},
    )
    result = run_cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PROMOTED to production" in result.stdout

    version = Client().get_model_version("weather_classifier", ModelStages.PRODUCTION)
    assert version.run_metadata["features"] == names
    assert version.run_metadata["classes"] == classes
    model = version.get_artifact("classifier").load()
    assert set(model.predict(frame[names].head(50))) <= set(classes)
