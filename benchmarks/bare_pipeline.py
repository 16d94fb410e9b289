"""Baseline: a bare ZenML pipeline (load, split, fit each candidate, select), ZenML as shipped.

What ZenML costs with nothing of ours around it: no config checks, no validation, no
evaluation, no promotion, no Model Control Plane, no reports. It fits every candidate of a
run config (the three of configs/training.yaml) with the same grid search as the training
pipeline, so the comparison with `python run.py` shows what our extra steps and checks cost.

    python benchmarks/bare_pipeline.py --config CONFIG.yaml [--no-cache]
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Annotated

import pandas as pd
import yaml
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from zenml import pipeline, step


@step
def load_csv(path: str) -> pd.DataFrame:
    return pd.read_csv(path)


@step
def split(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[target]
    )
    return train, test


@step
def fit(
    train: pd.DataFrame, features: list[str], target: str, spec: dict, folds: int, seed: int
) -> tuple[Annotated[Pipeline, "model"], Annotated[float, "cv_accuracy"]]:
    module, _, name = spec["estimator"].rpartition(".")
    model = getattr(importlib.import_module(module), name)(**spec.get("params", {}))
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    scaler = [("scale", StandardScaler())] if spec.get("scale_features", True) else []
    grid = {f"model__{key}": values for key, values in spec.get("search_space", {}).items()}
    search = GridSearchCV(
        Pipeline([*scaler, ("model", model)]),
        grid or [{}],
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        scoring="accuracy",
    ).fit(train[features], train[target])
    return search.best_estimator_, float(search.best_score_)


@step
def select(models: list[Pipeline], scores: list[float]) -> Pipeline:
    return models[max(range(len(scores)), key=scores.__getitem__)]


def ordinal(index: int) -> str:
    """Step names as before the third candidate: fit_first, fit_second, fit_third, ..."""
    words = ("first", "second", "third", "fourth", "fifth")
    return words[index] if index < len(words) else str(index + 1)


@pipeline(name="bare_baseline")
def bare_pipeline(path: str, features: list[str], target: str, candidates: list[dict], folds: int):
    train, _ = split(load_csv(path), target=target, test_size=0.2, seed=42)
    models, scores = [], []
    for index, spec in enumerate(candidates):
        model, score = fit(train, features, target, spec, folds, 42, id=f"fit_{ordinal(index)}")
        models.append(model)
        scores.append(score)
    select(models, scores)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--no-cache", action="store_true")
    arguments = parser.parse_args()
    parameters = yaml.safe_load(arguments.config.read_text())["parameters"]
    dataset = parameters["dataset"]
    bare_pipeline.with_options(enable_cache=not arguments.no_cache)(
        path=dataset["path"],
        features=list(dataset["features"]),
        target=dataset["target"],
        candidates=list(parameters["candidates"].values()),
        folds=parameters["cv_folds"],
    )
