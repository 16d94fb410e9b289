from __future__ import annotations

import re

import pytest
import yaml
from pydantic import ValidationError

from steps.config_models import CandidateSpec, DatasetSpec, FeatureSpec, QualityGate, SplitSpec
from tests.helpers import REPO


def test_shipped_config_is_valid():
    parameters = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())["parameters"]
    dataset = DatasetSpec(**parameters["dataset"])
    assert dataset.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    candidates = {name: CandidateSpec(**spec) for name, spec in parameters["candidates"].items()}
    assert len(candidates) >= 3
    SplitSpec(**parameters["split"])
    QualityGate(**parameters["quality_gate"])


def test_unknown_estimator_is_named():
    with pytest.raises(
        ValidationError, match=re.escape("cannot import estimator 'sklearn.svm.NoSuchModel'")
    ):
        CandidateSpec(estimator="sklearn.svm.NoSuchModel")


def test_inverted_range_is_rejected():
    with pytest.raises(ValidationError, match=re.escape("min (5.0) is greater than max (1.0)")):
        FeatureSpec(min=5, max=1)


def test_typos_in_config_keys_are_rejected():
    with pytest.raises(ValidationError, match="test_sise"):
        SplitSpec(test_sise=0.2)
