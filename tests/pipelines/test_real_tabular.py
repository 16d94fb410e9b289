"""A user's first real tables through every command, by their config alone.

The churn table (tests/tabular_data.py: an ID column, two categorical columns, missing
numbers, an 85/15 label) and Iris as UCI ships it (no header row): train, predict one row,
predict a file, build a bento and serve it; raw values in, raw values served.
"""

from __future__ import annotations

import re

import httpx
import pandas as pd
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from tests.conftest import SERVED_CHURN
from tests.helpers import REPO, run_cli, training_config
from tests.service.conftest import start_server, stop_server
from tests.tabular_data import churn_config, write_headerless_iris

pytestmark = pytest.mark.slow

IRIS_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]


def test_churn_version_records_the_resolved_schema_and_imbalance_metrics(served_churn):
    metadata = Client().get_model_version(served_churn, ModelStages.PRODUCTION).run_metadata
    features = metadata["dataset"]["features"]
    assert features["region"]["categories"] == ["east", "north", "south", "west"]  # learned
    assert features["plan"]["categories"] == ["basic", "pro", "enterprise"]
    assert metadata["cv_metric"] == metadata["gate_metric"] == "balanced_accuracy"
    assert 0.5 < metadata["test_roc_auc"] <= 1 and 0.5 < metadata["test_balanced_accuracy"] <= 1
    assert set(metadata["per_class"]) == {"no", "yes"}
    assert metadata["per_class"]["yes"]["support"] < metadata["per_class"]["no"]["support"] / 3
    assert "customer_id" not in metadata["features"]


def test_churn_predictions_take_raw_values(served_churn, churn_csv, tmp_path):
    config = churn_config(tmp_path, churn_csv, SERVED_CHURN)
    one = run_cli("--config", str(config), "predict", "basic", "south", "NA", "3", cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-2000:]
    assert re.fullmatch(
        r"(yes|no) \(probability \d\.\d\d\) - served_churn version \d+\n", one.stdout
    )
    unknown = run_cli("--config", str(config), "predict", "gold", "south", "1", "3", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "plan: Input should be 'basic', 'pro' or 'enterprise'" in unknown.stderr
    refused_gap = run_cli("--config", str(config), "predict", "basic", "NA", "1", "3", cwd=tmp_path)
    assert refused_gap.returncode == 2 and "region: Input should be a valid string" in (
        refused_gap.stderr
    )

    # A file: gaps filled in, an unknown region taken (unknown: ignore), the ID kept.
    frame = pd.read_csv(churn_csv, dtype=str, keep_default_na=False).head(60)
    frame = frame.drop(columns=["churned"])
    frame.loc[3, "region"] = "atlantis"
    frame.loc[5, "monthly_spend"] = ""
    source = tmp_path / "new_customers.csv"
    frame.to_csv(source, index=False)
    batch = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "new_customers.predictions.csv", dtype=str)
    assert len(predictions) == 60 and set(predictions["predicted_label"]) <= {"no", "yes"}
    assert list(predictions["customer_id"]) == list(frame["customer_id"])

    # A plan the config does not list is refused per its policy, naming line and value.
    frame.loc[7, "plan"] = "gold"
    frame.to_csv(source, index=False)
    refused = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert refused.returncode == 1
    assert (
        "column 'plan': 1 row breaks the rule 'must be one of basic, pro, enterprise' at line 9"
    ) in refused.stderr
    assert "nothing was predicted" in refused.stderr


def test_churn_bento_serves_categories_and_nulls(served_churn, churn_csv, tmp_path):
    config = churn_config(tmp_path, churn_csv, SERVED_CHURN)
    built = run_cli("--config", str(config), "bento", cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tag = built.stdout.strip().rpartition("bentoml serve ")[2]
    url, process = start_server(tag, tmp_path, tmp_path / "bento.log", SERVING_MODEL="")
    try:
        records = [
            {"plan": "basic", "region": "south", "monthly_spend": None, "tenure_months": 3},
            {"plan": "enterprise", "region": "atlantis", "tenure_months": 60},
        ]
        answer = httpx.post(f"{url}/predict", json={"records": records}, timeout=30)
        assert answer.status_code == 200, answer.text
        labels = [prediction["label"] for prediction in answer.json()["predictions"]]
        assert set(labels) <= {"no", "yes"}
        refused = httpx.post(
            f"{url}/predict",
            json={"records": [{**records[0], "plan": "gold"}]},
            timeout=30,
        )
        assert refused.status_code == 400
        assert "Input should be 'basic', 'pro' or 'enterprise'" in refused.text
    finally:
        stop_server(process)


def readme_figures() -> tuple[str, str]:
    """The CV and test lines of the README's example summary: Iris's figures as shipped."""
    text = (REPO / "README.md").read_text()
    cv = re.search(r"^CV accuracy +(.+)$", text, re.M).group(1)
    test = re.search(r"^Test metrics +(.+)$", text, re.M).group(1)
    return cv, test


def test_headerless_iris_trains_to_the_shipped_figures(tmp_path):
    data = write_headerless_iris(tmp_path / "iris.data")
    dataset = {
        "path": str(data),
        "target": "species",
        "classes": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
        "min_rows_per_class": 10,
        "read": {"header": False, "columns": IRIS_NAMES},
        "features": {
            "sepal_length": {"min": 0.1, "max": 15.0},
            "sepal_width": {"min": 0.1, "max": 10.0},
            "petal_length": {"min": 0.1, "max": 15.0},
            "petal_width": {"min": 0.05, "max": 5.0},
        },
    }
    config = training_config(tmp_path, data, "uci_iris", dataset=dataset)
    trained = run_cli("--config", str(config), cwd=tmp_path)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    cv, test = readme_figures()
    assert f"CV accuracy    {cv}" in trained.stdout  # the same rows, split and candidates
    assert f"Test metrics   {test}" in trained.stdout

    one = run_cli("--config", str(config), "predict", "5.1", "3.5", "1.4", "0.2", cwd=tmp_path)
    assert one.returncode == 0 and one.stdout.startswith("Iris-setosa (probability")
    # New data as UCI would ship it: no header, and no label column.
    rows = [",".join(line.split(",")[:4]) for line in data.read_text().splitlines()[::10]]
    source = tmp_path / "new.data"
    source.write_text("\n".join(rows) + "\n")
    batch = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "new.predictions.csv")
    assert list(predictions.columns[:4]) == IRIS_NAMES[:4] and len(predictions) == 15
    assert (predictions["predicted_label"].iloc[:5] == "Iris-setosa").all()

    # Served from its bento, under the names the config gave the headerless columns.
    built = run_cli("--config", str(config), "bento", cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tag = built.stdout.strip().rpartition("bentoml serve ")[2]
    url, process = start_server(tag, tmp_path, tmp_path / "bento.log", SERVING_MODEL="")
    try:
        record = dict(zip(IRIS_NAMES[:4], [6.3, 3.3, 6.0, 2.5], strict=True))
        answer = httpx.post(f"{url}/predict", json={"records": [record]}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["label"] == "Iris-virginica"
    finally:
        stop_server(process)
