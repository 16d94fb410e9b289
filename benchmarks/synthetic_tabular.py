"""A real-looking tabular table of any size, and the run config that trains on it.

`write_tabular`: 20 features, 15 numeric (three with about 3 % missing values, two whole
counts) and 5 categorical text columns of 3 to 12 categories (one with about 2 % missing),
and an imbalanced yes/no label (15 % yes) that depends on numeric features (linearly, one
interaction, one threshold) and on three of the categorical ones. Vectorised: 400,000 rows
take a few seconds.

`tabular_config`: the run config for that file, built from configs/training.yaml, so its
candidates, search spaces, folds, split and `cv_max_rows` are always the shipped ones; only
the model name, the dataset block, the CV metric (ROC AUC) and the gate (balanced accuracy)
are its own.

    python benchmarks/synthetic_tabular.py OUT.csv ROWS
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET = "converted"
CLASSES = ["no", "yes"]
POSITIVE_SHARE = 0.15
MISSING_SHARE = 0.03  # in each of NUMERIC_MISSING
CATEGORICAL_MISSING_SHARE = 0.02  # in CATEGORICAL_MISSING

# name: (location, spread, lowest, highest); `count_*` are whole numbers (Poisson, mean
# `location`), `amount_*` log-normal, the rest normal. Clipped into [lowest, highest],
# the range the config then checks.
NUMERIC = {
    "age": (40.0, 12.0, 18.0, 95.0),
    "income": (55.0, 20.0, 0.0, 250.0),
    "amount_spent": (3.5, 0.8, 0.0, 5000.0),
    "amount_saved": (2.0, 1.2, 0.0, 5000.0),
    "tenure_months": (30.0, 20.0, 0.0, 240.0),
    "score_a": (0.0, 1.0, -10.0, 10.0),
    "score_b": (0.0, 1.0, -10.0, 10.0),
    "score_c": (5.0, 2.0, -10.0, 20.0),
    "score_d": (0.0, 3.0, -20.0, 20.0),
    "ratio_a": (0.5, 0.15, 0.0, 1.0),
    "ratio_b": (0.3, 0.1, 0.0, 1.0),
    "latency_ms": (120.0, 40.0, 0.0, 1000.0),
    "count_visits": (6.0, 0.0, 0.0, 1000.0),
    "count_orders": (2.0, 0.0, 0.0, 1000.0),
    "noise": (0.0, 1.0, -10.0, 10.0),
}
NUMERIC_MISSING = ["income", "tenure_months", "latency_ms"]
CATEGORICAL = {
    "plan": ["basic", "plus", "pro"],
    "device": ["desktop", "mobile", "tablet", "tv"],
    "region": ["north", "south", "east", "west", "centre", "islands"],
    "channel": ["ads", "email", "organic", "partner", "referral", "social", "tv", "unknown"],
    "segment": [f"s{index:02d}" for index in range(12)],
}
CATEGORICAL_MISSING = ["channel"]
FEATURES = [*NUMERIC, *CATEGORICAL]


def effects(categories: list[str], values: np.ndarray) -> dict[str, float]:
    return dict(zip(categories, values.tolist(), strict=True))


def make_tabular(rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` rows in FEATURES order, then TARGET; missing values are NaN."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name, (location, spread, low, high) in NUMERIC.items():
        if name.startswith("count_"):  # whole numbers in the file
            columns[name] = np.clip(rng.poisson(location, rows), int(low), int(high))
            continue
        if name.startswith("amount_"):
            values = np.round(rng.lognormal(location, spread, rows), 2)
        else:
            values = np.round(rng.normal(location, spread, rows), 3)
        columns[name] = np.clip(values, low, high)
    for name, categories in CATEGORICAL.items():
        weights = np.linspace(2.0, 1.0, len(categories))  # some categories commoner
        columns[name] = rng.choice(
            np.array(categories, dtype=object), rows, p=weights / weights.sum()
        )
    frame = pd.DataFrame(columns)
    z = {name: (frame[name] - frame[name].mean()) / frame[name].std() for name in NUMERIC}
    score = (
        0.9 * z["score_a"]
        - 0.7 * z["score_b"]
        + 0.9 * z["score_c"] * z["score_d"]  # an interaction a linear model misses,
        + 1.2 * (frame["ratio_a"] > 0.65)  # a threshold
        + 0.5 * z["age"] ** 2  # and a U shape
        + 0.4 * z["income"]
        - 0.5 * z["tenure_months"]
        + 0.3 * z["count_visits"]
        + 0.3 * np.log1p(frame["amount_spent"])
        + frame["plan"].map({"basic": 0.6, "plus": 0.0, "pro": -0.6})
        + frame["channel"].map(effects(CATEGORICAL["channel"], np.linspace(-0.8, 0.8, 8)))
        + frame["segment"].map(effects(CATEGORICAL["segment"], np.tile([0.5, -0.5, 0.0], 4)))
    ).to_numpy()
    noisy = score + rng.logistic(0.0, 1.0, rows)
    positive = noisy > np.quantile(noisy, 1 - POSITIVE_SHARE)
    for name in NUMERIC_MISSING:  # gaps only after the label is drawn from the true values
        frame.loc[rng.random(rows) < MISSING_SHARE, name] = np.nan
    for name in CATEGORICAL_MISSING:
        frame.loc[rng.random(rows) < CATEGORICAL_MISSING_SHARE, name] = np.nan
    frame[TARGET] = np.where(positive, CLASSES[1], CLASSES[0])
    return frame


def write_tabular(path: Path, rows: int, seed: int = 0) -> Path:
    """The table as a CSV; a missing value is an empty cell."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_tabular(rows, seed).to_csv(path, index=False, lineterminator="\n")
    return path


def feature_specs() -> dict[str, dict[str, Any]]:
    """The config's `dataset.features` for the table: ranges, kinds, missing-value policies."""
    specs: dict[str, dict[str, Any]] = {}
    for name, (_, _, low, high) in NUMERIC.items():
        specs[name] = {"min": low, "max": high}
        if name in NUMERIC_MISSING:
            specs[name]["missing"] = "median"
    for name in CATEGORICAL:
        specs[name] = {"type": "categorical", "categories": "learned", "unknown": "ignore"}
        if name in CATEGORICAL_MISSING:
            specs[name]["missing"] = "most_frequent"
    return specs


def tabular_config(folder: Path, data: Path, model_name: str) -> Path:
    """configs/training.yaml for the table in `data`: the shipped candidates unchanged."""
    config = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())
    config["model"].update(
        name=model_name,
        description="Tabular benchmark of the training pipeline on synthetic data.",
        tags=["benchmark", "tabular"],
    )
    parameters = config["parameters"]
    parameters["dataset"] = {
        "path": str(data),
        "target": TARGET,
        "classes": CLASSES,
        "min_rows_per_class": 10,
        "read": {"header": True, "delimiter": ",", "na_values": [""]},
        "features": feature_specs(),
    }
    parameters["cv_metric"] = "roc_auc"  # the label is imbalanced: accuracy says little
    parameters["quality_gate"] = {"metric": "balanced_accuracy", "min_value": 0.55}
    path = folder / f"{model_name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


if __name__ == "__main__":
    write_tabular(Path(sys.argv[1]), int(sys.argv[2]))
