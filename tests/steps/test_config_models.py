from __future__ import annotations

import re

import pytest
import yaml
from pydantic import ValidationError

from steps.config_models import (
    CandidateSpec,
    ConfigError,
    DatasetSpec,
    FeatureSpec,
    QualityGate,
    SplitSpec,
    check_training_config,
)
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


def test_config_errors_name_each_entry(tmp_path):
    config = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())
    config["parameters"]["cv_folds"] = 1
    del config["parameters"]["seed"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as raised:
        check_training_config(path)
    message = str(raised.value)
    assert "parameters.cv_folds: Input should be greater than or equal to 2" in message
    assert "parameters.seed: Field required" in message
