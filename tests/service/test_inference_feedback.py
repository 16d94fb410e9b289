"""What the service records of its traffic, and the true labels sent back (issue 22): every
prediction logged with its request id, feedback validated, live accuracy as computed."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from sklearn.metrics import accuracy_score

from service.inference_log import read_log

pytestmark = pytest.mark.slow

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]


def logged(folder, stream: str, count: int, seconds: float = 10) -> list[dict]:
    """The log's rows once it holds at least `count` (the writer thread is a moment behind)."""
    deadline = time.monotonic() + seconds
    while len(rows := read_log(folder, stream).rows) < count:
        assert time.monotonic() < deadline, f"{len(rows)} of {count} {stream} rows logged"
        time.sleep(0.1)
    return rows


def random_flower(chance: random.Random) -> dict[str, float]:
    return {name: round(chance.uniform(0.5, 4.5), 1) for name in NAMES}  # within every range


def test_each_prediction_is_logged_with_the_id_the_client_got(server, inference_log_dir):
    before = len(read_log(inference_log_dir).rows)
    flower = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}
    response = httpx.post(f"{server}/predict", json={"records": [flower, flower]})
    assert response.status_code == 200
    request_id = response.json()["request_id"]
    assert response.headers["x-request-id"] == request_id
    rows = [row for row in logged(inference_log_dir, "predictions", before + 2)
            if row["request_id"] == request_id]  # fmt: skip
    assert [row["row"] for row in rows] == [0, 1]
    assert rows[0]["features"] == flower and rows[0]["api"] == "predict"
    assert rows[0]["label"] == response.json()["predictions"][0]["label"]
    assert rows[0]["probabilities"] == response.json()["predictions"][0]["probabilities"]
    assert rows[0]["model_version"] == response.json()["model_version"]
    given = httpx.post(
        f"{server}/predict", json={"records": [flower]}, headers={"X-Request-Id": "proxy-42"}
    )
    assert given.json()["request_id"] == "proxy-42" == given.headers["x-request-id"]


def test_feedback_for_200_requests_gives_the_accuracy_computed_directly(server, inference_log_dir):
    chance = random.Random(7)
    sent = []
    with httpx.Client(base_url=server, timeout=30) as client:
        for _ in range(200):
            answer = client.post("/predict", json={"records": [random_flower(chance)]}).json()
            truth = chance.choice(CLASSES)
            sent.append((answer["request_id"], answer["predictions"][0]["label"], truth))
            recorded = client.post(
                "/feedback", json={"request_id": answer["request_id"], "label": truth}
            )
            assert recorded.status_code == 200, recorded.text
    ids = {request_id for request_id, _, _ in sent}
    deadline = time.monotonic() + 10
    while True:
        feedback = [row for row in read_log(inference_log_dir, "feedback").rows
                    if row["feedback_for"] in ids]  # fmt: skip
        if len(feedback) == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(feedback) == 200
    # The log joined with its feedback, as `monitor` reads them, against what the client saw.
    truths = {row["feedback_for"]: row["label"] for row in feedback}
    traffic = [row for row in read_log(inference_log_dir).rows if row["request_id"] in ids]
    live = accuracy_score(
        [truths[row["request_id"]] for row in traffic], [row["label"] for row in traffic]
    )
    direct = accuracy_score([truth for _, _, truth in sent], [label for _, label, _ in sent])
    assert len(traffic) == 200 and live == pytest.approx(direct)


def test_bad_feedback_is_refused_with_what_is_wrong(server):
    flower = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    request_id = httpx.post(f"{server}/predict", json={"records": [flower]}).json()["request_id"]
    unknown = httpx.post(f"{server}/feedback", json={"request_id": "f" * 32, "label": "setosa"})
    assert unknown.status_code == 404 and "no logged prediction" in unknown.json()["error"]
    wrong = httpx.post(f"{server}/feedback", json={"request_id": request_id, "label": "rose"})
    assert wrong.status_code == 400 and "label" in wrong.text
    far = httpx.post(
        f"{server}/feedback", json={"request_id": request_id, "label": "setosa", "row": 3}
    )
    assert far.status_code == 400 and "had 1 row" in far.json()["error"]
