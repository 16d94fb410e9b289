"""Train one model family: an sklearn Pipeline (preprocessing inside) tuned by CV on train only."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from zenml import log_metadata, step

from steps.config_models import CandidateSpec, DatasetSpec, load_class


def build_pipeline(spec: CandidateSpec, seed: int) -> Pipeline:
    """Scaling lives inside the model, so serving takes raw features."""
    estimator_class = load_class(spec.estimator)
    params = dict(spec.params)
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", seed)
    scaler = [("scale", StandardScaler())] if spec.scale_features else []
    return Pipeline([*scaler, ("model", estimator_class(**params))])


class CandidateSearchFailed(RuntimeError):
    """A fit (or its scoring) failed in the grid search: the run stops, naming the candidate."""


def search_candidate(
    name: str,
    spec: CandidateSpec,
    train: pd.DataFrame,
    dataset: DatasetSpec,
    cv_folds: int,
    seed: int,
) -> tuple[Pipeline, dict[str, Any]]:
    """Grid search with stratified k-fold CV; returns the refitted best model and its CV score.

    A fit that fails stops the search (`error_score="raise"`): by default scikit-learn would
    score that grid point NaN, warn, and quietly choose among the others.
    """
    grid = {f"model__{key}": values for key, values in spec.search_space.items()}
    search = GridSearchCV(
        build_pipeline(spec, seed),
        param_grid=grid or [{}],
        cv=StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed),
        scoring="accuracy",
        n_jobs=1,
        error_score="raise",
    )
    try:
        search.fit(train[dataset.feature_names], train[dataset.target])
    except Exception as error:
        raise CandidateSearchFailed(
            f"candidate {name!r} ({spec.estimator}) failed in its grid search over "
            f"{spec.search_space or 'no search space'}: {type(error).__name__}: {error}"
        ) from error
    best = search.best_index_
    chosen = {key.removeprefix("model__"): value for key, value in search.best_params_.items()}
    result = {
        "name": name,
        "estimator": spec.estimator,
        "best_params": chosen,
        # what a user sets: the config's fixed params with the search's choices over them
        "hyperparameters": {**spec.params, **chosen},
        "cv_accuracy": float(search.cv_results_["mean_test_score"][best]),
        "cv_std": float(search.cv_results_["std_test_score"][best]),
        "combinations_tried": len(search.cv_results_["params"]),
    }
    return search.best_estimator_, result


@step
def train_candidate(
    train: pd.DataFrame,
    dataset: DatasetSpec,
    name: str,
    spec: CandidateSpec,
    cv_folds: int,
    seed: int,
) -> tuple[Annotated[Pipeline, "candidate_model"], Annotated[dict, "cv_result"]]:
    """Tune one candidate model family by grid search with k-fold CV on the train split.

    Takes: the train split, the dataset spec, the candidate's name and spec (estimator,
    params, search space), the number of folds and the seed.
    Gives: `candidate_model`, the best sklearn Pipeline refitted on the whole train split;
    `cv_result`, its name, estimator, chosen and full hyperparameters, CV accuracy and std.
    """
    model, result = search_candidate(name, spec, train, dataset, cv_folds, seed)
    log_metadata({"cv_accuracy": result["cv_accuracy"], "best_params": result["best_params"]})
    return model, result
