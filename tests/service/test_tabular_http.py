"""The HTTP service on a model with categorical and imputed features: raw values in, each
category per its policy, null where the model fills a value in, a 400 that says what is wrong."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow

ROW = {"plan": "basic", "region": "south", "monthly_spend": 42.5, "tenure_months": 3}


def predict(url: str, *records: dict) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"records": list(records)}, timeout=30)


def test_categories_and_nulls_are_taken_as_the_schema_says(churn_server):
    answer = predict(
        churn_server,
        ROW,
        {**ROW, "monthly_spend": None},  # imputed (missing: median)
        {"plan": "pro", "region": "south"},  # both imputed numbers left out
        {**ROW, "region": "atlantis"},  # unknown: ignore
    )
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [set(p["probabilities"]) for p in predictions] == [{"no", "yes"}] * 4
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-5 for p in predictions)

    batch = httpx.post(
        f"{churn_server}/predict_batch",
        json={
            "columns": {
                "plan": ["basic", "enterprise"],
                "region": ["south", "east"],
                "monthly_spend": [None, 80.0],
                "tenure_months": [3, None],
            }
        },
        timeout=30,
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["labels"] == [
        p["label"]
        for p in predict(
            churn_server,
            {**ROW, "monthly_spend": None},
            {"plan": "enterprise", "region": "east", "monthly_spend": 80.0},
        ).json()["predictions"]
    ]


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({**ROW, "plan": "gold"}, "plan", "Input should be 'basic', 'pro' or 'enterprise'"),
        ({**ROW, "plan": None}, "plan", "Input should be 'basic', 'pro' or 'enterprise'"),
        ({**ROW, "region": None}, "region", "Input should be a valid string"),
        ({**ROW, "tenure_months": 500}, "tenure_months", "less than or equal to 120"),
        ({**ROW, "plan": 1}, "plan", "Input should be 'basic', 'pro' or 'enterprise'"),
    ],
)
def test_a_value_the_policy_refuses_is_a_400_naming_the_field(churn_server, record, field, message):
    answer = predict(churn_server, record)
    assert answer.status_code == 400
    details = answer.json()["detail"]
    assert [detail["loc"][-1] for detail in details] == [field]
    assert message in details[0]["msg"]


def test_the_documents_show_enums_nulls_and_the_policies(churn_server):
    card = httpx.get(f"{churn_server}/model", timeout=10).json()
    features = {feature["name"]: feature for feature in card["schema"]["features"]}
    assert features["plan"] == {
        "name": "plan",
        "kind": "categorical",
        "categories": ["basic", "pro", "enterprise"],
        "unknown": "refuse",
        "nullable": False,
    }
    assert features["region"]["unknown"] == "ignore"
    assert features["monthly_spend"] == {
        "name": "monthly_spend",
        "kind": "numeric",
        "min": 0.0,
        "nullable": True,
    }
    assert {"cv_balanced_accuracy", "test_roc_auc", "test_balanced_accuracy"} <= set(
        card["metrics"]
    )

    schemas = httpx.get(f"{churn_server}/docs.json", timeout=10).json()["components"]["schemas"]
    record = schemas["Record"]["properties"]
    assert record["plan"]["enum"] == ["basic", "pro", "enterprise"]
    assert record["region"]["type"] == "string" and "enum" not in record["region"]
    assert {"type": "null"} in record["monthly_spend"]["anyOf"]
    assert set(schemas["Record"]["required"]) == {"plan", "region"}
