"""Baseline without a framework: the same fits as the training pipeline, as a plain script.

Reads the same run config (its dataset, CV settings and candidates), then does what a data
scientist would write by hand with scikit-learn alone: read the CSV with the config's
reading options, learn the categories from the whole file, split, grid-search each
candidate with the same preprocessing and CV (on at most `cv_max_rows` stratified training
rows, then the chosen settings fitted once on the whole train split), keep the best by CV
score, score it on the test split, save it with joblib. No validation, no artifact store,
no model registry, no import of the project's code (ZenML stays out of the baseline's time
and memory).

The preprocessing is written here rather than imported from steps/preprocessing.py, so the
baseline is what a user would write without this project and a change to the project's
preprocessing shows in the comparison; tests/benchmarks/test_benchmarks.py checks that both
produce the same feature columns.

    python benchmarks/plain_training.py --config CONFIG.yaml --out DIR
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CV_MAX_ROWS = 20000  # the pipeline's default when a config does not set cv_max_rows


def is_categorical(feature: dict) -> bool:
    return (feature or {}).get("type", "numeric") == "categorical"


def read_csv(dataset: dict) -> pd.DataFrame:
    """The configured columns: categorical ones and the target as text, numeric as floats."""
    read = {"header": True, "delimiter": ",", "na_values": [""], **dataset.get("read", {})}
    features, target = dataset["features"], dataset["target"]
    kinds = {name: str if is_categorical(feature) else float for name, feature in features.items()}
    return pd.read_csv(
        dataset["path"],
        sep=read["delimiter"],
        header=0 if read["header"] else None,
        names=None if read["header"] else read["columns"],
        usecols=[*features, target],
        dtype={**kinds, target: str},
        keep_default_na=False,
        na_values=[str(value) for value in read["na_values"]],
        skipinitialspace=True,
    )


def imputer(feature: dict) -> list[tuple[str, Any]]:
    missing = feature.get("missing", "refuse")
    if missing == "refuse":
        return []
    fill = {"fill_value": feature["fill_value"]} if missing == "constant" else {}
    return [("impute", SimpleImputer(strategy=missing, **fill))]


def scaled(steps: list[tuple[str, Any]], scale: bool) -> list[tuple[str, Any]]:
    return [*steps, ("scale", StandardScaler())] if scale else steps


def learned_categories(dataset: dict, frame: pd.DataFrame) -> dict[str, list[str]]:
    """Each categorical's categories: listed in the config, or learned from the whole file
    (before the split), so no CV fold or test row meets a new one."""
    categories = {}
    for name, feature in dataset["features"].items():
        if is_categorical(feature):
            listed = feature.get("categories", "learned")
            if listed == "learned":
                categories[name] = sorted(map(str, frame[name].dropna().unique()))
            else:
                categories[name] = [str(value) for value in listed]
            if (
                feature.get("missing") == "constant"
                and feature["fill_value"] not in categories[name]
            ):
                categories[name].append(feature["fill_value"])
    return categories


def preprocessing(
    dataset: dict, categories: dict[str, list[str]], scale: bool
) -> list[tuple[str, Any]]:
    """Imputers, scalers and one-hot encoders per the config's policies. All-numeric data
    with one policy: a plain scaler (or nothing), as the pipeline keeps for Iris."""
    names = list(dataset["features"])
    features = {name: feature or {} for name, feature in dataset["features"].items()}
    policy = {
        name: (feature.get("missing", "refuse"), feature.get("fill_value"))
        for name, feature in features.items()
        if not is_categorical(feature)
    }
    if not categories and len(set(policy.values())) == 1:
        return scaled(imputer(next(iter(features.values()))), scale)
    transformers = []
    for missing, fill_value in sorted(set(policy.values()), key=str):
        columns = [names.index(name) for name, p in policy.items() if p == (missing, fill_value)]
        steps = scaled(imputer({"missing": missing, "fill_value": fill_value}), scale)
        transformers.append(
            (f"numeric_{missing}", Pipeline(steps) if steps else "passthrough", columns)
        )
    for name, values in categories.items():
        encoder = OneHotEncoder(
            categories=[np.array(values, dtype=object)],
            handle_unknown="ignore" if features[name].get("unknown") == "ignore" else "error",
            sparse_output=False,
        )
        steps = [*imputer(features[name]), ("one_hot", encoder)]
        transformers.append((f"categorical_{name}", Pipeline(steps), [names.index(name)]))
    return [("prepare", ColumnTransformer(transformers, sparse_threshold=0))]


def estimator(spec: dict, dataset: dict, categories: dict[str, list[str]], seed: int) -> Pipeline:
    module, _, name = spec["estimator"].rpartition(".")
    estimator_class = getattr(importlib.import_module(module), name)
    params = dict(spec.get("params") or {})
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", seed)
    model = estimator_class(**params)
    if spec.get("calibrate"):
        model = CalibratedClassifierCV(model, cv=3)
    prepare = preprocessing(dataset, categories, spec.get("scale_features", True))
    return Pipeline([*prepare, ("model", model)])


def scoring(metric: str, classes: list[str]) -> Any:
    """scikit-learn's scorer for the config's cv_metric."""
    kind, _, label = metric.partition(":")
    if label:
        score = {"recall": recall_score, "precision": precision_score}[kind]
        return make_scorer(score, labels=[label], average="macro", zero_division=0)
    if kind == "macro_f1":
        return make_scorer(f1_score, labels=classes, average="macro", zero_division=0)
    if kind == "roc_auc":
        return "roc_auc" if len(classes) == 2 else "roc_auc_ovr"
    return kind


def train(config_path: Path, out: Path) -> dict:
    parameters = yaml.safe_load(config_path.read_text())["parameters"]
    dataset, seed = parameters["dataset"], parameters["seed"]
    classes = [str(label) for label in dataset["classes"]]
    features, target = list(dataset["features"]), dataset["target"]
    metric = parameters.get("cv_metric", "accuracy")
    max_rows = parameters.get("cv_max_rows", CV_MAX_ROWS)
    frame = read_csv(dataset)
    train_part, test_part = train_test_split(
        frame,
        test_size=parameters["split"]["test_size"],
        random_state=seed,
        stratify=frame[target],
    )
    sample = train_part
    if max_rows is not None and len(train_part) > max_rows:
        sample, _ = train_test_split(
            train_part, train_size=max_rows, random_state=seed, stratify=train_part[target]
        )
    folds = StratifiedKFold(n_splits=parameters["cv_folds"], shuffle=True, random_state=seed)
    categories = learned_categories(dataset, frame)
    models, scores, seconds, settings = {}, {}, {}, {}
    for name, spec in parameters["candidates"].items():
        started = time.perf_counter()
        prefix = "model__estimator__" if spec.get("calibrate") else "model__"
        space = spec.get("search_space") or {}
        grid = {f"{prefix}{key}": values for key, values in space.items()}
        search = GridSearchCV(
            estimator(spec, dataset, categories, seed),
            grid or [{}],
            cv=folds,
            scoring=scoring(metric, classes),
            n_jobs=1,
            error_score="raise",
            refit=sample is train_part,
        )
        search.fit(sample[features], sample[target])
        if sample is train_part:
            models[name] = search.best_estimator_
        else:
            models[name] = clone(search.estimator).set_params(**search.best_params_)
            models[name].fit(train_part[features], train_part[target])
        best = search.best_index_
        scores[name] = (
            float(search.cv_results_["mean_test_score"][best]),
            float(search.cv_results_["std_test_score"][best]),
        )
        seconds[name] = time.perf_counter() - started
        settings[name] = {
            key.removeprefix(prefix): value for key, value in search.best_params_.items()
        }
    best = min(scores, key=lambda name: (-scores[name][0], scores[name][1], name))
    model = models[best]
    truth = test_part[target]
    predicted = model.predict(test_part[features])
    probabilities = model.predict_proba(test_part[features])
    if len(classes) == 2:
        auc = roc_auc_score(truth, probabilities[:, 1])
    else:
        auc = roc_auc_score(truth, probabilities, multi_class="ovr", labels=list(model.classes_))
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    return {
        "chosen": best,
        "cv_metric": metric,
        "cv_score": scores[best][0],
        "cv_rows": len(sample),
        "train_rows": len(train_part),
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "roc_auc": float(auc),
        "candidates": {
            name: {
                "cv_score": scores[name][0],
                "best_params": settings[name],
                "seconds": round(seconds[name], 2),
            }
            for name in scores
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("plain-model"))
    arguments = parser.parse_args()
    print(json.dumps(train(arguments.config, arguments.out), default=str))
