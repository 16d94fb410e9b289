"""Train one model family: an sklearn Pipeline (preprocessing inside) tuned by CV on train only."""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from typing import Annotated, Any

import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import f1_score, make_scorer, precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from zenml import log_metadata, step

from steps.config_models import CandidateSpec, DatasetSpec, load_class
from steps.preprocessing import preprocessing_steps


def build_pipeline(spec: CandidateSpec, dataset: DatasetSpec, seed: int) -> Pipeline:
    """Preprocessing lives inside the model, so every caller hands it raw values."""
    estimator_class = load_class(spec.estimator)
    params = dict(spec.params)
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", seed)
    model = estimator_class(**params)
    if spec.calibrate:  # probabilities for estimators without predict_proba (SVC, ...)
        model = CalibratedClassifierCV(model, cv=3)
    return Pipeline([*preprocessing_steps(dataset, spec.scale_features), ("model", model)])


def grid_prefix(spec: CandidateSpec) -> str:
    """Where the search space's names live in the Pipeline."""
    return "model__estimator__" if spec.calibrate else "model__"


def scorer(metric: str, classes: list[str]) -> Any:
    """scikit-learn's scorer for one of config_models.METRICS (or `recall:<class>`)."""
    kind, _, label = metric.partition(":")
    if label:
        score = {"recall": recall_score, "precision": precision_score}[kind]
        return make_scorer(score, labels=[label], average="macro", zero_division=0)
    if kind == "macro_f1":
        return make_scorer(f1_score, labels=classes, average="macro", zero_division=0)
    if kind == "roc_auc":
        return "roc_auc" if len(classes) == 2 else "roc_auc_ovr"
    return kind  # accuracy, balanced_accuracy: scikit-learn's own names


def json_safe(value: Any) -> Any:
    """A hyperparameter as BentoML's metadata and JSON take it: None, tuples, estimators and
    numpy scalars become text or lists, so every promotable model can be exported."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return repr(value)  # None, estimators, functions: as Python shows them


# Below this many rows a fit runs on one OpenMP thread: threads do not pay on small data, and
# on a busy machine histogram gradient boosting's many short parallel sections stalled
# (a 1,200-row search: 34-74 s with two threads while another process ran, 1.2 s with one).
SINGLE_THREAD_ROWS = 50_000


def threads_for(rows: int):
    """One OpenMP thread for a small fit; the default (one per core) for a large one."""
    if rows <= SINGLE_THREAD_ROWS:
        return threadpool_limits(limits=1, user_api="openmp")
    return nullcontext()


def tuning_rows(train: pd.DataFrame, target: str, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most `max_rows` training rows, stratified, for the grid search: the search's cost
    grows with rows times grid points, the one final fit only with rows."""
    if max_rows is None or len(train) <= max_rows:
        return train
    sample, _ = train_test_split(
        train, train_size=max_rows, random_state=seed, stratify=train[target]
    )
    return sample


class CandidateSearchFailed(RuntimeError):
    """A fit (or its scoring) failed in the grid search: the run stops, naming the candidate."""


def search_candidate(
    name: str,
    spec: CandidateSpec,
    train: pd.DataFrame,
    dataset: DatasetSpec,
    cv_folds: int,
    seed: int,
    cv_metric: str = "accuracy",
    cv_max_rows: int | None = None,
) -> tuple[Pipeline, dict[str, Any]]:
    """Grid search with stratified k-fold CV; returns the best model fitted on the whole
    train split and its CV score.

    On more than `cv_max_rows` rows the search runs on a stratified sample of that size and
    only the chosen settings are fitted on every row. A fit that fails stops the search
    (`error_score="raise"`): by default scikit-learn would score that grid point NaN, warn,
    and quietly choose among the others.
    """
    prefix = grid_prefix(spec)
    grid = {f"{prefix}{key}": values for key, values in spec.search_space.items()}
    sample = tuning_rows(train, dataset.target, cv_max_rows, seed)
    search = GridSearchCV(
        build_pipeline(spec, dataset, seed),
        param_grid=grid or [{}],
        cv=StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed),
        scoring=scorer(cv_metric, dataset.classes),
        n_jobs=1,
        error_score="raise",
        refit=sample is train,
    )
    features, target = dataset.feature_names, dataset.target
    try:
        with threads_for(len(sample)):
            search.fit(sample[features], sample[target])
        if sample is train:
            model = search.best_estimator_
        else:
            model = clone(search.estimator).set_params(**search.best_params_)
            with threads_for(len(train)):
                model.fit(train[features], train[target])
    except Exception as error:
        raise CandidateSearchFailed(
            f"candidate {name!r} ({spec.estimator}) failed in its grid search over "
            f"{spec.search_space or 'no search space'}: {type(error).__name__}: {error}"
        ) from error
    best = search.best_index_
    chosen = {key.removeprefix(prefix): value for key, value in search.best_params_.items()}
    result = {
        "name": name,
        "estimator": spec.estimator,
        "best_params": json_safe(chosen),
        # what a user sets: the config's fixed params with the search's choices over them
        "hyperparameters": json_safe({**spec.params, **chosen}),
        "cv_metric": cv_metric,
        "cv_score": float(search.cv_results_["mean_test_score"][best]),
        "cv_std": float(search.cv_results_["std_test_score"][best]),
        "cv_rows": len(sample),
        "train_rows": len(train),
        "combinations_tried": len(search.cv_results_["params"]),
    }
    return model, result


@step
def train_candidate(
    train: pd.DataFrame,
    dataset: DatasetSpec,
    name: str,
    spec: CandidateSpec,
    cv_folds: int,
    seed: int,
    cv_metric: str = "accuracy",
    cv_max_rows: int | None = None,
) -> tuple[Annotated[Pipeline, "candidate_model"], Annotated[dict, "cv_result"]]:
    """Tune one candidate model family by grid search with k-fold CV on the train split.

    Takes: the train split, the dataset spec with its categories resolved (validate_data's
    `dataset_schema`), the candidate's name and spec (estimator, params, search space,
    preprocessing), the number of folds, the seed, the CV metric and the most rows the
    search runs on.
    Gives: `candidate_model`, the best sklearn Pipeline (preprocessing inside) fitted on the
    whole train split; `cv_result`, its name, estimator, chosen and full hyperparameters
    (JSON-safe), CV metric, score and std.
    """
    model, result = search_candidate(
        name, spec, train, dataset, cv_folds, seed, cv_metric, cv_max_rows
    )
    log_metadata({"cv_score": result["cv_score"], "best_params": result["best_params"]})
    return model, result
