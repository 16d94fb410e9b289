from __future__ import annotations

import re

import pytest
import yaml
from pydantic import ValidationError

from steps.config_models import (
    CandidateSpec,
    ConfigError,
    NumericFeature,
    SplitSpec,
    check_training_config,
)
from tests.helpers import REPO, shipped_config


def test_shipped_config_is_valid():
    parameters = check_training_config(REPO / "configs" / "training.yaml")
    assert parameters.dataset.feature_names == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]
    assert len(parameters.candidates) >= 3


def test_unknown_estimator_is_named():
    with pytest.raises(
        ValidationError, match=re.escape("cannot import estimator 'sklearn.svm.NoSuchModel'")
    ):
        CandidateSpec(estimator="sklearn.svm.NoSuchModel")


def test_inverted_range_is_rejected():
    with pytest.raises(ValidationError, match=re.escape("min (5.0) is greater than max (1.0)")):
        NumericFeature(min=5, max=1)


def test_typos_in_config_keys_are_rejected():
    with pytest.raises(ValidationError, match="test_sise"):
        SplitSpec(test_sise=0.2)


def test_config_errors_name_each_entry(tmp_path):
    config = shipped_config()
    config["parameters"]["cv_folds"] = 1
    del config["parameters"]["seed"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as raised:
        check_training_config(path)
    message = str(raised.value)
    assert "parameters.cv_folds: Input should be greater than or equal to 2" in message
    assert "parameters.seed: Field required" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(parameters=None), "needs a `parameters:` mapping"),
        (lambda c: c.pop("model"), "needs `model: name:`"),
        (
            lambda c: c["parameters"]["split"].update(test_size=0.05),
            "split.test_size (0.05) must be at least 1",
        ),
        (
            lambda c: c["parameters"].update(cv_folds=9),
            "must be at least cv_folds (9)",
        ),
    ],
)
def test_configs_that_cannot_train_are_refused(tmp_path, change, expected):
    config = shipped_config()
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        check_training_config(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["parameters"].update(cv_metric="f1"),
            "parameters: Value error, cv_metric: unknown metric 'f1'; choose one of accuracy, "
            "balanced_accuracy, macro_f1, roc_auc, recall:<class>, precision:<class>",
        ),
        (
            lambda c: c["parameters"]["quality_gate"].update(metric="recall:rose"),
            "quality_gate.metric: 'recall:rose' names class 'rose', which is not one of "
            "setosa, versicolor, virginica",
        ),
        (
            lambda c: c["parameters"]["dataset"]["features"].update(colour={"type": "text"}),
            "parameters.dataset.features.colour: Input tag 'text' found using "
            "_feature_type() does not match any of the expected tags",
        ),
        (
            lambda c: c["parameters"]["dataset"]["features"]["sepal_length"].update(
                missing="constant"
            ),
            "missing: constant needs a fill_value",
        ),
        (
            lambda c: c["parameters"]["dataset"].update(read={"header": False}),
            "header: false needs `columns:`",
        ),
        (
            lambda c: c["parameters"]["dataset"].update(
                read={"header": False, "columns": ["a", "b"]}
            ),
            "read.columns does not name sepal_length, sepal_width, petal_length, petal_width, "
            "species: list every column",
        ),
        (
            lambda c: c["parameters"]["dataset"].update(ignore=["species"]),
            "ignore lists configured columns: species",
        ),
    ],
)
def test_tabular_settings_that_cannot_work_are_refused(tmp_path, change, expected):
    config = shipped_config()
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(ConfigError) as raised:
        check_training_config(path)
    assert expected in str(raised.value)


def test_categorical_features_and_class_metrics_are_accepted(tmp_path):
    config = shipped_config()
    config["parameters"]["dataset"]["features"]["soil"] = {
        "type": "categorical",
        "categories": [1, True, "clay"],  # YAML's numbers and booleans: categories are text
        "missing": "most_frequent",
    }
    config["parameters"]["cv_metric"] = "balanced_accuracy"
    config["parameters"]["quality_gate"]["metric"] = "recall:virginica"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    parameters = check_training_config(path)
    soil = parameters.dataset.features["soil"]
    assert soil.categories == ["1", "true", "clay"]
    assert list(parameters.dataset.categorical) == ["soil"]
    assert parameters.dataset.features["sepal_length"].type == "numeric"  # no `type:` given
