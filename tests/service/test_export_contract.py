"""The contract between training and serving, and the one rule that turns probabilities
into labels for both batch inference and the service."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.linear_model import LogisticRegression

from service.contract import as_columns, as_records, predicted_labels
from service.export_contract import ExportLabels, ExportMetadata
from steps.inference import label_rows
from tests.helpers import REPO

LABELS = {
    "zenml_model": "iris_classifier",
    "zenml_model_version": "3",
    "zenml_run_id": "1b2c",
    "data_md5": "013d0da08d6506664ce640459139176b",
}


def test_labels_round_trip_under_their_bentoml_keys():
    labels = ExportLabels.model_validate(LABELS)
    assert (labels.model, labels.version, labels.run_id) == ("iris_classifier", "3", "1b2c")
    assert labels.as_labels() == LABELS


def test_a_missing_label_fails_loudly_when_read_as_ours():
    with pytest.raises(ValidationError, match="zenml_run_id"):
        ExportLabels.model_validate(
            {key: value for key, value in LABELS.items() if key != "zenml_run_id"}
        )


def test_a_foreign_model_is_not_ours_even_with_one_of_our_labels():
    """The service, `models --version` and the image labels all ask `of`: a model someone
    else labelled `zenml_model` is skipped, not a crash at the service's start."""
    assert ExportLabels.of({"project": "someone-else"}) is None
    assert ExportLabels.of({"zenml_model": "theirs"}) is None
    assert ExportLabels.of({**LABELS, "zenml_model_version": None}) is None
    assert ExportLabels.of(LABELS) == ExportLabels.model_validate(LABELS)


def test_metadata_keeps_the_feature_schema_and_metrics():
    metadata = ExportMetadata.model_validate(
        {
            "target": "species",
            "classes": ["a", "b"],
            "features": [{"name": "width", "min": 0.0, "max": 2.5}],
            "model_family": "logistic_regression",
            "hyperparameters": {"C": 1.0},
            "cv_accuracy": 0.95,
            "test_accuracy": 0.9,
            "test_macro_f1": 0.89,
            "test_rows": 30,
        }
    )
    assert metadata.feature_names == ["width"]
    assert metadata.feature_dicts() == [
        {"name": "width", "kind": "numeric", "min": 0.0, "max": 2.5, "nullable": False}
    ]
    # an export written before the CV metric was a setting
    assert metadata.metrics() == {
        "cv_accuracy": 0.95,
        "test_accuracy": 0.9,
        "test_macro_f1": 0.89,
        "test_rows": 30,
    }
    with pytest.raises(ValidationError, match="classes"):
        ExportMetadata.model_validate({**metadata.model_dump(), "classes": None})


def fresh_python_prints(code: str) -> str:
    """What `code` prints in a new interpreter: imports there start from nothing."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_contract_imports_neither_zenml_nor_bentoml():
    code = (
        "import sys, service.export_contract, service.contract; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('zenml', 'bentoml')))"
    )
    assert fresh_python_prints(code) == "[]"


def test_importing_the_contract_leaves_the_warning_filters_alone():
    code = (
        "import warnings, numpy, pydantic; before = list(warnings.filters); "
        "import service.contract; print(warnings.filters == before)"
    )
    assert fresh_python_prints(code) == "True"


def test_batch_inference_and_the_service_label_the_same_probabilities_alike():
    train = pd.DataFrame({"x": [0.0, 0.4, 1.0, 1.3, 2.2, 3.0], "y": [1.0, 0.2, 0.7, 2.0, 0.1, 1.5]})
    model = LogisticRegression().fit(train, ["a", "a", "b", "b", "c", "c"])
    features = pd.DataFrame({"x": [0.1, 1.2, 2.9, 1.7], "y": [0.3, 1.1, 1.4, 0.9]})
    probs = model.predict_proba(features)
    classes = [str(label) for label in model.classes_]

    batch = label_rows(model, features, features, "1")
    records = as_records(probs, classes)
    columns = as_columns(probs, classes)

    assert batch["predicted_label"].tolist() == [r["label"] for r in records] == columns["labels"]
    for label in classes:
        from_batch = batch[f"probability_{label}"].tolist()
        assert from_batch == [r["probabilities"][label] for r in records]
        assert from_batch == columns["probabilities"][label]
        assert all(round(value, 6) == value for value in from_batch)


def test_a_tie_goes_to_the_first_class_and_probabilities_round_to_six_places():
    labels, rounded = predicted_labels(np.array([[0.5, 0.5], [0.1234567, 0.8765433]]), ["a", "b"])
    assert labels == ["a", "b"]
    assert rounded.tolist() == [[0.5, 0.5], [0.123457, 0.876543]]
