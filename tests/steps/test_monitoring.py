"""The plain functions of `monitor`: the log as frames, feedback joined, live metrics, the
class shift, the decision and the report."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from service.inference_log import InferenceLog, read_log, window_start
from steps.config_models import MonitoringConfig
from steps.monitoring import (
    LOG,
    TRUE_LABEL,
    class_shift,
    compare_with_training,
    feedback_frame,
    join_feedback,
    live_metrics,
    report_html,
    report_png,
    summary_lines,
    traffic_frame,
)
from tests.steps.test_drift import FEATURES, churn_frame

DATASET = {"features": {name: {} for name in FEATURES}, "classes": ["no", "yes"]}


def log_frame(frame: pd.DataFrame, folder, version: str = "1", prefix: str = "q"):
    """Each row of `frame` logged as one request through the service's writer."""
    log = InferenceLog(folder)
    for index, row in enumerate(frame.to_dict("records")):
        features = {name: (None if pd.isna(row[name]) else row[name]) for name in FEATURES}
        log.log_predictions(
            f"{prefix}{index}", "predict", "churn", version, [features], [row["predicted"]], [{}]
        )
    return log


def test_live_accuracy_from_feedback_equals_sklearn_on_those_rows(tmp_path):
    rng = np.random.default_rng(3)
    frame = churn_frame(300, seed=5)
    frame["predicted"] = np.where(rng.random(300) < 0.8, frame["churned"], "yes")
    log = log_frame(frame, tmp_path)
    judged = rng.choice(300, size=200, replace=False)
    for index in judged:
        log.log_feedback(f"q{index}", 0, "no")  # a first, wrong label: the later one wins
    for index in judged:
        log.log_feedback(f"q{index}", 0, frame["churned"][index])
    log.close()

    traffic = traffic_frame(read_log(tmp_path).rows, FEATURES)
    feedback = feedback_frame(read_log(tmp_path, "feedback").rows)
    assert len(feedback) == 200
    live = live_metrics(join_feedback(traffic, feedback))

    truth, predicted = frame["churned"][judged], frame["predicted"][judged]
    assert live["1"]["rows"] == 300 and live["1"]["feedback_rows"] == 200
    assert live["1"]["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert live["1"]["macro_f1"] == pytest.approx(
        f1_score(truth, predicted, average="macro"), abs=1e-12
    )


def test_feedback_joins_its_own_row_only():
    traffic = pd.DataFrame(
        {f"{LOG}request_id": ["a", "a", "b"], f"{LOG}row": [0, 1, 0], f"{LOG}label": ["x"] * 3}
    )
    feedback = feedback_frame(
        [
            {"feedback_for": "a", "row": 1, "time": "2026-01-01T00:00:00.000Z", "label": "y"},
            {"feedback_for": "zz", "row": 0, "time": "2026-01-01T00:00:00.000Z", "label": "y"},
        ]
    )
    assert join_feedback(traffic, feedback)[TRUE_LABEL].isna().tolist() == [True, False, True]


def test_a_class_shift_is_found_and_too_few_rows_get_no_verdict():
    reference = pd.Series(["no"] * 850 + ["yes"] * 150)
    same = class_shift(reference, pd.Series(["no"] * 170 + ["yes"] * 30), ["no", "yes"], 0.05, 100)
    assert same["shifted"] is False and same["p_value"] > 0.05
    moved = class_shift(reference, pd.Series(["no"] * 120 + ["yes"] * 80), ["no", "yes"], 0.05, 100)
    assert moved["shifted"] is True and moved["traffic_share"]["yes"] == pytest.approx(0.4)
    few = class_shift(reference, pd.Series(["yes"] * 20), ["no", "yes"], 0.05, 100)
    assert few["shifted"] is False and few["verdict"].startswith("too few rows (20 < 100)")


def settings(**retrain_when) -> dict:
    return MonitoringConfig(retrain_when=retrain_when).model_dump()


def traffic_of(frame: pd.DataFrame, version: str = "1") -> pd.DataFrame:
    rows = [
        {
            "request_id": f"q{i}",
            "row": 0,
            "time": "2026-01-01T00:00:00.000Z",
            "model": "churn",
            "model_version": version,
            "label": label,
            "features": {name: (None if pd.isna(r[name]) else r[name]) for name in FEATURES},
        }
        for i, (r, label) in enumerate(zip(frame.to_dict("records"), frame["churned"], strict=True))
    ]
    return traffic_frame(rows, FEATURES)


def test_the_decision_names_each_reason_and_the_report_shows_it():
    reference = churn_frame(1200, seed=0)
    calm = compare_with_training(
        reference,
        traffic_of(churn_frame(300, seed=11)),
        feedback_frame([]),
        reference["churned"],
        DATASET,
        "1",
        settings(),
    )
    assert calm["decision"] == {"retrain": False, "reasons": []}
    assert summary_lines(calm)[-1] == "no action"

    moved = churn_frame(300, seed=12)
    moved["tenure_months"] = moved["tenure_months"] + 1.5 * reference["tenure_months"].std()
    moved["churned"] = "yes"  # the model now says yes to everyone: a class shift too
    shifted = compare_with_training(
        reference, traffic_of(moved), feedback_frame([]), reference["churned"], DATASET, "1",
        settings(),
    )  # fmt: skip
    reasons = shifted["decision"]["reasons"]
    assert shifted["decision"]["retrain"] is True
    assert reasons[0] == "1 feature(s) drifted: tenure_months"
    assert reasons[1].startswith("the predicted classes shifted")
    lines = summary_lines(shifted)
    assert lines[-1].startswith("retraining recommended because 1 feature(s) drifted")
    assert any(line.startswith("  DRIFT        tenure_months (KS") for line in lines)
    shifted.update(model="churn", window="the last 300 rows")
    png = report_png(shifted, reference, traffic_of(moved))
    assert png.startswith(b"\x89PNG")
    page = report_html(shifted, png)
    assert "retraining recommended because" in page and "data:image/png;base64," in page


def test_live_accuracy_below_the_floor_is_a_reason():
    reference = churn_frame(1200, seed=0)
    traffic = traffic_of(churn_frame(300, seed=13))
    wrong = [
        {"feedback_for": f"q{i}", "row": 0, "time": "2026-01-01T00:00:01.000Z", "label": "x"}
        for i in range(60)
    ]
    report = compare_with_training(
        reference, traffic, feedback_frame(wrong), reference["churned"], DATASET, "1",
        settings(accuracy_below=0.85, min_feedback_rows=50),
    )  # fmt: skip
    assert report["decision"]["reasons"] == [
        "production's live accuracy is 0.000 < 0.85 on 60 rows with feedback"
    ]
    report = compare_with_training(
        reference, traffic, feedback_frame(wrong), reference["churned"], DATASET, "1",
        settings(accuracy_below=0.85, min_feedback_rows=100),
    )  # fmt: skip
    assert report["decision"]["retrain"] is False  # 60 rows with feedback judge nothing
    report = compare_with_training(
        reference, traffic, feedback_frame(wrong), reference["churned"], DATASET, "1",
        settings(accuracy_drop=0.1, min_feedback_rows=50), production_test_accuracy=0.9,
    )  # fmt: skip
    assert report["decision"]["reasons"] == [
        "production's live accuracy is 0.000, more than 0.1 under its test accuracy 0.900, "
        "on 60 rows with feedback"
    ]


def test_since_takes_durations_and_dates():
    now = datetime(2026, 12, 2, 19, 0, tzinfo=timezone.utc)
    assert window_start("90m", now) == now - timedelta(minutes=90)
    assert window_start("24h", now) == now - timedelta(hours=24)
    assert window_start("7d", now) == now - timedelta(days=7)
    assert window_start("2026-12-01T08:00") == datetime(2026, 12, 1, 8, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="neither a duration"):
        window_start("yesterday")
