"""Candidates' parameters and search spaces are checked against the estimator before any step."""

from __future__ import annotations

import re

import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from steps.config_models import (
    CandidateSpec,
    ConfigError,
    candidate_problems,
    check_training_config,
    sklearn_constraint_violation,
)
from tests.helpers import REPO, run_cli, shipped_config

KNN = "parameters.candidates.k_nearest_neighbors"
LOGREG = "parameters.candidates.logistic_regression"


def config_error(tmp_path, change) -> str:
    config = shipped_config()
    change(config["parameters"]["candidates"])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as raised:
        check_training_config(path)
    return str(raised.value)


def test_shipped_candidates_pass():
    for spec in check_training_config(REPO / "configs" / "training.yaml").candidates.values():
        assert candidate_problems(spec) == []


def test_unknown_search_space_name_shows_the_closest(tmp_path):
    message = config_error(
        tmp_path, lambda c: c["logistic_regression"].update(search_space={"Cee": [1.0]})
    )
    assert (
        f"{LOGREG}.search_space.Cee: unknown parameter 'Cee' of "
        "sklearn.linear_model.LogisticRegression; did you mean 'C'?"
    ) in message


def test_unknown_fixed_param_is_named(tmp_path):
    message = config_error(tmp_path, lambda c: c["random_forest"]["params"].update(n_estimator=50))
    assert "parameters.candidates.random_forest.params.n_estimator: unknown parameter" in message
    assert "did you mean 'n_estimators'?" in message


def test_grid_value_breaking_a_constraint_is_named_by_position(tmp_path):
    message = config_error(
        tmp_path,
        lambda c: c["k_nearest_neighbors"]["search_space"].update(n_neighbors=["three", 5]),
    )
    assert f"{KNN}.search_space.n_neighbors[0]: The 'n_neighbors' parameter" in message
    assert "must be an int in the range [1, inf)" in message
    assert "n_neighbors[1]" not in message


def test_fixed_value_breaking_a_constraint_is_named(tmp_path):
    message = config_error(tmp_path, lambda c: c["logistic_regression"]["params"].update(tol=-1))
    assert f"{LOGREG}.params.tol: The 'tol' parameter of LogisticRegression" in message


def test_every_bad_candidate_is_reported_with_other_schema_errors(tmp_path):
    def change(candidates):
        candidates["logistic_regression"]["search_space"] = {"Cee": [1.0]}
        candidates["k_nearest_neighbors"]["search_space"] = {"n_neighbors": [0]}
        candidates["random_forest"]["scale_featurez"] = False  # a schema error

    message = config_error(tmp_path, change)
    assert f"{LOGREG}.search_space.Cee" in message
    assert f"{KNN}.search_space.n_neighbors[0]" in message
    assert "parameters.candidates.random_forest.scale_featurez" in message


@pytest.mark.parametrize(
    ("candidate", "where"),
    [
        ({"estimator": "sklearn.svm.SVC"}, ""),
        ({"estimator": "sklearn.svm.LinearSVC"}, ""),
        (
            {
                "estimator": "sklearn.svm.SVC",
                "params": {"probability": True},
                "search_space": {"probability": [True, False]},
            },
            " with probability=False",
        ),
    ],
)
def test_candidate_without_predict_proba_is_a_config_error(tmp_path, candidate, where):
    message = config_error(tmp_path, lambda c: c.update(svm=candidate))
    assert (
        f"parameters.candidates.svm: {candidate['estimator']}{where} has no predict_proba: "
        "the service and batch inference need class probabilities"
    ) in message


def test_svc_with_probability_passes():
    spec = CandidateSpec(
        estimator="sklearn.svm.SVC", params={"probability": True}, search_space={"C": [1, 10]}
    )
    assert candidate_problems(spec) == []


def test_the_check_points_probability_less_families_to_calibration(tmp_path):
    message = config_error(tmp_path, lambda c: c.update(svm={"estimator": "sklearn.svm.SVC"}))
    assert "set `calibrate: true` on the candidate (scikit-learn's CalibratedClassifierCV" in (
        message
    )
    assert candidate_problems(CandidateSpec(estimator="sklearn.svm.SVC", calibrate=True)) == []


def test_a_calibrated_svc_trains_without_deprecated_arguments(iris_csv):
    """scikit-learn 1.9 deprecates SVC(probability=True): calibration is the supported way."""
    import warnings

    from steps.candidates import search_candidate
    from steps.config_models import DatasetSpec
    from steps.data import read_dataset, split_dataset
    from steps.validation import validate_dataset

    dataset = DatasetSpec(**shipped_config()["parameters"]["dataset"])
    train, test = split_dataset(
        validate_dataset(read_dataset(iris_csv), dataset, source="iris"), "species", 0.2, 42
    )
    spec = CandidateSpec(estimator="sklearn.svm.SVC", calibrate=True, search_space={"C": [1, 10]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        model, result = search_candidate("svm", spec, train, dataset, cv_folds=3, seed=0)
    assert result["best_params"]["C"] in (1, 10) and result["cv_score"] > 0.9
    assert model.predict_proba(test[dataset.feature_names]).shape == (len(test), 3)


@pytest.mark.slow  # run.py in a subprocess (ZenML's import): seconds
def test_run_py_exits_2_naming_the_entry(tmp_path):
    config = shipped_config()
    config["parameters"]["candidates"]["k_nearest_neighbors"]["search_space"]["n_neighbors"] = [
        "three",
        5,
    ]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("--config", str(path), cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Training not started" in result.stderr
    assert f"{KNN}.search_space.n_neighbors[0]:" in result.stderr


# scikit-learn's private parameter validation, used in one function: these fail on an upgrade
# that moves or changes it (see sklearn_constraint_violation's docstring).


def test_sklearn_still_declares_constraints():
    assert isinstance(LogisticRegression._parameter_constraints, dict)
    assert "C" in LogisticRegression._parameter_constraints
    assert "n_neighbors" in KNeighborsClassifier._parameter_constraints


def test_constraint_check_rejects_and_accepts_like_fit():
    why = sklearn_constraint_violation(LogisticRegression, "C", "three")
    assert why is not None
    assert re.search(r"The 'C' parameter of LogisticRegression must be .*Got 'three'", why)
    assert sklearn_constraint_violation(LogisticRegression, "C", 1.0) is None
    assert sklearn_constraint_violation(LogisticRegression, "solver", "lbfgs") is None


def test_estimators_without_constraints_are_not_checked():
    class Plain:
        pass

    assert sklearn_constraint_violation(Plain, "anything", object()) is None
