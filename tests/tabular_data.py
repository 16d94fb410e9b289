"""Tables shaped like a user's first real one, made by the tests (no download).

`write_churn`: an ID column, two categorical columns, missing numeric values and an
imbalanced binary label (about 85/15) that depends on all of them, so a model that uses the
categories beats one that does not. `write_headerless_iris`: Iris as UCI ships it
(`iris.data`: no header row, classes named `Iris-setosa`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

PLANS = ["basic", "pro", "enterprise"]
REGIONS = ["north", "south", "east", "west"]
CHURN_COLUMNS = ["customer_id", "plan", "region", "monthly_spend", "tenure_months", "churned"]


def churn_rows(rows: int, seed: int = 0, missing_share: float = 0.03) -> list[list[str]]:
    """Rows of the churn table as the CSV holds them (text; empty cells are missing)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.35, 0.15])
    region = rng.choice(REGIONS, size=rows)
    spend = np.round(rng.gamma(4.0, 20.0, size=rows) + 10, 2)
    tenure = rng.integers(1, 72, size=rows).astype(float)
    risk = (
        -2.4
        + 1.6 * (plan == "basic")
        - 1.2 * (plan == "enterprise")
        + 0.8 * (region == "south")
        - 0.03 * tenure
        + 0.006 * spend
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-risk))
    spend_text = spend.astype(str).astype(object)
    tenure_text = tenure.astype(int).astype(str).astype(object)
    spend_text[rng.random(rows) < missing_share] = ""
    tenure_text[rng.random(rows) < missing_share] = ""
    return [
        [f"C{index:06d}", p, r, s, t, "yes" if c else "no"]
        for index, (p, r, s, t, c) in enumerate(
            zip(plan, region, spend_text, tenure_text, churned, strict=True)
        )
    ]


def write_churn(path: Path, rows: int = 1200, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHURN_COLUMNS)
        writer.writerows(churn_rows(rows, seed))
    return path


def write_headerless_iris(path: Path) -> Path:
    """The shipped Iris rows with no header and UCI's class names."""
    from data.make_iris import write_iris

    with_header = path.with_suffix(".with-header.csv")
    write_iris(with_header)
    lines = with_header.read_text().splitlines()[1:]
    path.write_text("".join(_uci(line) + "\n" for line in lines if line))
    with_header.unlink()
    return path


def _uci(line: str) -> str:
    *values, label = line.split(",")
    return ",".join([*values, f"Iris-{label}"])


CHURN_FEATURES = {
    "plan": {"type": "categorical", "categories": PLANS},
    "region": {"type": "categorical", "categories": "learned", "unknown": "ignore"},
    "monthly_spend": {"min": 0, "missing": "median"},
    "tenure_months": {"min": 0, "max": 120, "missing": "mean"},
}


def churn_spec():
    """The churn table's dataset spec, for tests of the plain functions."""
    from steps.config_models import DatasetSpec

    return DatasetSpec(
        path="churn.csv",
        target="churned",
        classes=["no", "yes"],
        ignore=["customer_id"],
        features=CHURN_FEATURES,
    )


def churn_config(folder: Path, data: Path, model_name: str, **parameters) -> Path:
    """configs/training.yaml with the churn table's schema: its categories, missing-value
    policies, ID column, label, and for an imbalanced label its metrics and class weights."""
    from tests.helpers import training_config

    path = training_config(folder, data, model_name, **parameters)
    import yaml

    config = yaml.safe_load(path.read_text())
    config["parameters"]["dataset"].update(
        target="churned",
        classes=["no", "yes"],
        ignore=["customer_id"],
        features=CHURN_FEATURES,
    )
    config["parameters"]["cv_metric"] = "balanced_accuracy"
    for candidate in config["parameters"]["candidates"].values():
        if "neighbors" not in candidate["estimator"]:  # k-NN takes no class weights
            candidate.setdefault("params", {})["class_weight"] = "balanced"
    config["parameters"]["quality_gate"] = {"metric": "balanced_accuracy", "min_value": 0.55}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
