"""Baseline without a framework: the same fits as the training pipeline, as a plain script.

Reads the same run config (its dataset and candidates), then does what a data scientist
would write by hand: read the CSV, split, grid-search each candidate with the same sklearn
Pipeline and CV, keep the best by CV accuracy, score it on the test split, save it with
joblib. No validation, no artifact store, no model registry.

    python benchmarks/plain_training.py --config CONFIG.yaml --out DIR
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
from pathlib import Path

import joblib
import pandas as pd
import yaml
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def estimator(spec: dict, seed: int) -> Pipeline:
    module, _, name = spec["estimator"].rpartition(".")
    estimator_class = getattr(importlib.import_module(module), name)
    params = dict(spec.get("params") or {})
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", seed)
    scaler = [("scale", StandardScaler())] if spec.get("scale_features", True) else []
    return Pipeline([*scaler, ("model", estimator_class(**params))])


def train(config_path: Path, out: Path) -> dict:
    parameters = yaml.safe_load(config_path.read_text())["parameters"]
    dataset, seed = parameters["dataset"], parameters["seed"]
    features, target = list(dataset["features"]), dataset["target"]
    frame = pd.read_csv(dataset["path"])
    train_part, test_part = train_test_split(
        frame,
        test_size=parameters["split"]["test_size"],
        random_state=seed,
        stratify=frame[target],
    )
    folds = StratifiedKFold(n_splits=parameters["cv_folds"], shuffle=True, random_state=seed)
    searches = {}
    for name, spec in parameters["candidates"].items():
        grid = {f"model__{key}": values for key, values in spec.get("search_space", {}).items()}
        search = GridSearchCV(
            estimator(spec, seed), grid or [{}], cv=folds, scoring="accuracy", n_jobs=1
        )
        searches[name] = search.fit(train_part[features], train_part[target])
    best = max(searches, key=lambda name: searches[name].best_score_)
    model = searches[best].best_estimator_
    accuracy = accuracy_score(test_part[target], model.predict(test_part[features]))
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    return {"chosen": best, "cv_accuracy": searches[best].best_score_, "accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("plain-model"))
    arguments = parser.parse_args()
    print(json.dumps(train(arguments.config, arguments.out)))
