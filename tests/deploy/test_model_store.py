"""The one-row command line reads BentoML's store itself: it must find what BentoML finds."""

from __future__ import annotations

import bentoml
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from deploy.export import discard_export
from deploy.model_store import NoServingModel, latest_export


def export_model(model, name: str, labels: dict, metadata: dict) -> str:
    """Saved as deploy/export.py saves a version: BentoML's sklearn API."""
    return str(bentoml.sklearn.save_model(name, model, labels=labels, metadata=metadata).tag)


def test_latest_export_is_what_bentoml_calls_latest(tmp_path):
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array(["a", "a", "b", "b"])
    first = export_model(LogisticRegression().fit(X, y), "store_probe", {"n": "1"}, {"k": [1]})
    second = export_model(LogisticRegression(C=2.0).fit(X, y), "store_probe", {"n": "2"}, {})

    found = latest_export("store_probe")
    assert found.tag == second == str(bentoml.models.get("store_probe:latest").tag)
    assert found.labels == {"n": "2"}
    assert found.load().C == 2.0

    discard_export(second)  # an export undone: latest goes back to the previous one
    assert latest_export("store_probe").tag == first
    assert latest_export("store_probe").metadata == {"k": [1]}


def test_no_export_says_how_to_get_one():
    with pytest.raises(NoServingModel, match="make run"):
        latest_export("never_exported")
