"""The service over real HTTP, as a client sees it."""

from __future__ import annotations

import math

import httpx
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

pytestmark = pytest.mark.slow

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VERSICOLOR = {"sepal_length": 6.4, "sepal_width": 3.2, "petal_length": 4.5, "petal_width": 1.5}
VIRGINICA = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}


def post(url: str, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def test_known_rows_get_their_species_and_the_production_version(server, served_model):
    response = post(server, "/predict", {"records": [SETOSA, VERSICOLOR, VIRGINICA]})
    assert response.status_code == 200, response.text
    body = response.json()
    labels = [prediction["label"] for prediction in body["predictions"]]
    assert labels == ["setosa", "versicolor", "virginica"]
    for prediction in body["predictions"]:
        assert math.isclose(sum(prediction["probabilities"].values()), 1.0, abs_tol=1e-5)
        assert prediction["probabilities"][prediction["label"]] == max(
            prediction["probabilities"].values()
        )
    production = Client().get_model_version(served_model, ModelStages.PRODUCTION)
    assert body["model_version"] == str(production.number)


def test_model_card_traces_back_to_the_run_and_data(server, served_model, iris_csv):
    from steps.data import file_md5

    card = httpx.get(f"{server}/model").json()
    production = Client().get_model_version(served_model, ModelStages.PRODUCTION)
    assert card["model"] == served_model
    assert card["model_version"] == str(production.number)
    assert card["data_md5"] == file_md5(iris_csv)
    run = Client().get_pipeline_run(card["training_run_id"])
    assert run.model_version.id == production.id
    assert card["metrics"]["test_accuracy"] == production.run_metadata["test_accuracy"]
    assert [f["name"] for f in card["schema"]["features"]] == list(SETOSA)
    assert card["schema"]["classes"] == ["setosa", "versicolor", "virginica"]


# JSON as some clients write it: NaN and Infinity are not standard JSON, but they get sent.
RAW_ROW = (
    '{"records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, '
    '"petal_width": 0.2}]}'
)


def _with(**changes: object) -> dict:
    return {**SETOSA, **changes}


BAD_REQUESTS = {
    "missing field": (
        {"records": [{k: v for k, v in SETOSA.items() if k != "petal_width"}]},
        "petal_width",
    ),
    "extra field": ({"records": [_with(colour=1.0)]}, "colour"),
    "string value": ({"records": [_with(sepal_length="5.1")]}, "sepal_length"),
    "NaN": (RAW_ROW.replace("5.1", "NaN"), "finite"),
    "infinity": (RAW_ROW.replace("5.1", "Infinity"), "finite"),
    "out of range": ({"records": [_with(petal_width=50.0)]}, "petal_width"),
    "negative": ({"records": [_with(sepal_width=-1.0)]}, "sepal_width"),
    "empty list": ({"records": []}, "at least 1"),
    "too many rows": ({"records": [SETOSA] * 51}, "at most 50"),
    "not JSON": ("{records: oops", "JSON"),
    "no records key": ({"rows": [SETOSA]}, "records"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_a_4xx_that_names_the_problem(server, case):
    body, expected = BAD_REQUESTS[case]
    if isinstance(body, str):
        response = httpx.post(
            f"{server}/predict", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = post(server, "/predict", body)
    assert 400 <= response.status_code < 500, response.text
    assert expected in response.text
    # ... and the server is still up and right.
    good = post(server, "/predict", {"records": [VIRGINICA]})
    assert good.status_code == 200
    assert good.json()["predictions"][0]["label"] == "virginica"


def test_columns_endpoint_takes_ten_thousand_rows(server):
    rows = [SETOSA, VERSICOLOR, VIRGINICA] * 3334
    columns = {name: [row[name] for row in rows] for name in SETOSA}
    response = post(server, "/predict_batch", {"columns": columns})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["labels"]) == len(rows)
    assert body["labels"][:3] == ["setosa", "versicolor", "virginica"]
    assert set(body["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert all(len(values) == len(rows) for values in body["probabilities"].values())


def test_columns_of_different_lengths_are_refused(server):
    columns = {name: [value] for name, value in SETOSA.items()}
    columns["sepal_length"] = [5.1, 5.2]
    response = post(server, "/predict_batch", {"columns": columns})
    assert response.status_code == 400
    assert "same length" in response.text


def test_openapi_document_shows_the_real_fields(server):
    spec = httpx.get(f"{server}/docs.json").json()
    text = str(spec)
    for name in SETOSA:
        assert name in text
    assert "/predict" in spec["paths"] and "/predict_batch" in spec["paths"]


def test_bentoml_health_and_metrics_endpoints_answer(server):
    assert httpx.get(f"{server}/readyz").status_code == 200
    assert httpx.get(f"{server}/healthz").status_code == 200
    metrics = httpx.get(f"{server}/metrics")
    assert metrics.status_code == 200
    assert "bentoml_service_request" in metrics.text
