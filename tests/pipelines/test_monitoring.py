"""`python run.py monitor` end to end, on a trained churn model: traffic like the training
data sent to the served model (`bentoml serve`, with feedback), shifted traffic written by
the service's own log writer (service/inference_log.py): no action, drift and a vanished category
named (exit 3), nothing or too little logged (exit 4), the documented cron line, and
`--retrain` making a new model version. One model for the module, trained once."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score
from zenml.client import Client
from zenml.enums import ModelStages

from service.contract import predicted_labels
from service.inference_log import InferenceLog
from tests.helpers import REPO, run_cli
from tests.notebooks.test_notebook import run_notebook, shown_text
from tests.service.conftest import start_server, stop_server
from tests.steps.test_drift import FEATURES, churn_frame
from tests.tabular_data import churn_config

pytestmark = pytest.mark.slow

MODEL = "monitored_churn"
ONE_CANDIDATE = {
    "logistic_regression": {
        "estimator": "sklearn.linear_model.LogisticRegression",
        "params": {"max_iter": 1000, "class_weight": "balanced"},
        "search_space": {"C": [1.0]},
    }
}


@pytest.fixture(scope="module")
def config(churn_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A churn model of this module's own (one candidate: a quick run), trained and
    promoted; the retrain test adds a version to it, no other test's model."""
    folder = tmp_path_factory.mktemp("monitored")
    path = churn_config(folder, churn_csv, MODEL, candidates=ONE_CANDIDATE)
    result = run_cli("--config", str(path), cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PROMOTED" in result.stdout
    return path


def production():
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION)


def write_log(folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Each row as one request, labelled by the production model as the service would,
    written by the service's own log writer (quicker than serving it). The frame, with
    `predicted`."""
    classifier = production().get_artifact("classifier").load()
    classes = [str(label) for label in classifier.classes_]
    labels, _ = predicted_labels(classifier.predict_proba(frame[FEATURES]), classes)
    frame = frame.assign(predicted=labels)
    log = InferenceLog(folder)
    version = str(production().number)
    for index, row in enumerate(frame.to_dict("records")):
        features = {name: (None if pd.isna(row[name]) else row[name]) for name in FEATURES}
        log.log_predictions(
            f"t{index}", "predict", MODEL, version, [features], [row["predicted"]], [{}]
        )
    log.close()
    return frame


def served_log(folder: Path, frame: pd.DataFrame, feedback: int, work: Path) -> pd.DataFrame:
    """Each row as one POST /predict to the production model served by `bentoml serve`
    (its inference log in `folder`), and POST /feedback with the true label for the first
    `feedback` rows; the server stopped (its log closed). The frame, with `predicted`."""
    url, server = start_server(
        ".", REPO / "service", work / "serve.log", SERVING_MODEL=MODEL, SERVING_LOG_DIR=str(folder)
    )
    predicted = []
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for index, row in enumerate(frame.to_dict("records")):
                features = {name: (None if pd.isna(row[name]) else row[name]) for name in FEATURES}
                answer = client.post("/predict", json={"records": [features]})
                assert answer.status_code == 200, answer.text
                predicted.append(answer.json()["predictions"][0]["label"])
                if index < feedback:
                    truth = {"request_id": answer.json()["request_id"], "label": row["churned"]}
                    assert client.post("/feedback", json=truth).status_code == 200
    finally:
        stop_server(server)
    return frame.assign(predicted=predicted)


def shifted(rows: int, seed: int, reference: pd.DataFrame) -> pd.DataFrame:
    """tenure_months moved by 1.5 standard deviations; the enterprise plan gone."""
    frame = churn_frame(rows, seed)
    frame["tenure_months"] = frame["tenure_months"] + 1.5 * reference["tenure_months"].std()
    frame["plan"] = frame["plan"].replace("enterprise", "pro")
    return frame


def monitor(config: Path, *args: str, cwd: Path, env: dict | None = None):
    return run_cli("--config", str(config), "monitor", *args, cwd=cwd, env=env)


def test_traffic_like_the_training_data_means_no_action(config, tmp_path):
    """Traffic drawn from the training distribution, sent to the served model."""
    frame = served_log(tmp_path / "log", churn_frame(400, seed=21), 200, tmp_path)
    result = monitor(config, "--log", str(tmp_path / "log"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "no action"
    assert "Drift          no drift detected" in result.stdout
    assert "DRIFT " not in result.stdout

    judged = frame.head(200)
    accuracy = accuracy_score(judged["churned"], judged["predicted"])
    macro_f1 = f1_score(judged["churned"], judged["predicted"], average="macro")
    assert (
        f"Live metrics   version {production().number} (production): accuracy {accuracy:.4f}, "
        f"macro-F1 {macro_f1:.4f} on 200 of 400 rows"
    ) in result.stdout
    assert len(list((tmp_path / "reports").glob("monitoring-*.html"))) == 1
    assert len(list((tmp_path / "reports").glob("monitoring-*.png"))) == 1
    run = Client().get_pipeline("monitoring").last_run
    report = run.steps["compare_traffic"].outputs["monitoring_report"][0].load()
    assert report["decision"] == {"retrain": False, "reasons": []}
    assert report["live"][str(production().number)]["accuracy"] == pytest.approx(accuracy)

    # The notebook's live-metrics table shows the same, beside the version's test accuracy.
    shown = shown_text(run_notebook(CONFIG=str(config))["live-metrics"])
    assert "no action" in shown, shown
    row = re.search(rf"^{production().number}\s+400\s+200\s+([\d.]+)\s+([\d.]+)", shown, re.M)
    assert row, shown
    assert float(row.group(1)) == pytest.approx(round(accuracy, 4))
    assert float(row.group(2)) == pytest.approx(round(macro_f1, 4))


@pytest.fixture(scope="module")
def shifted_log(config, churn_csv, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shifted-log")
    reference = churn_frame(1200, seed=0)
    write_log(folder, shifted(400, seed=22, reference=reference))
    return folder


def test_nothing_or_too_little_logged_gives_no_verdict(config, shifted_log, tmp_path):
    empty = monitor(config, "--log", str(tmp_path / "nothing"), cwd=tmp_path)
    assert empty.returncode == 4, empty.stderr[-3000:]
    assert f"Nothing logged for {MODEL} since " in empty.stderr
    few = monitor(config, "--log", str(shifted_log), "--last", "20", cwd=tmp_path)
    assert few.returncode == 4, few.stderr[-3000:]
    assert "Too few rows (20 < 100) to test drift" in few.stderr


def documented_cron_command() -> str:
    """The command of the cron line in docs/monitoring.md (after its five time fields)."""
    page = (REPO / "docs" / "monitoring.md").read_text()
    block = re.search(r"```cron\n(.*?)```", page, re.DOTALL).group(1)
    (line,) = [line for line in block.splitlines() if line.strip() and line[0] != "#"]
    return line.split(None, 5)[5]


def test_shifted_traffic_by_the_documented_cron_line_names_features_and_exits_3(
    config, shifted_log
):
    """The cron line of docs/monitoring.md, its two paths replaced, on a log where
    tenure_months moved by 1.5 standard deviations and the enterprise plan vanished."""
    command = documented_cron_command()
    assert ".venv/bin/python run.py" in command and " monitor " in command
    command = command.replace("/path/to/project", shlex.quote(str(REPO))).replace(
        "configs/training.yaml", shlex.quote(str(config))
    )
    env = {**os.environ, "SERVING_LOG_DIR": str(shifted_log)}  # where the service wrote it
    reports = set((REPO / "reports").glob("monitoring-*"))
    try:
        result = subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=600, env=env
        )
        written = sorted(set((REPO / "reports").glob("monitoring-*")) - reports)
        pages = [path.read_text() for path in written if path.suffix == ".html"]
    finally:
        for path in set((REPO / "reports").glob("monitoring-*")) - reports:
            path.unlink()  # the cron line runs in the project: leave its reports/ as it was
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    drifted = re.findall(r"^  DRIFT        (\w+) \(", result.stdout, flags=re.MULTILINE)
    assert drifted == ["plan", "tenure_months"]
    assert "vanished: enterprise" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("retraining recommended because 2 feature(s) drifted: plan, ")
    assert [path.suffix for path in written] == [".html", ".png"]
    assert "retraining recommended because" in pages[0]
    assert "data:image/png;base64," in pages[0]


def test_retrain_runs_training_and_makes_a_new_version(config, shifted_log, tmp_path):
    before = production().number
    versions = Client().list_model_versions(model=MODEL, size=1).total
    result = monitor(config, "--log", str(shifted_log), "--retrain", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "retraining recommended because 2 feature(s) drifted" in result.stdout
    assert Client().list_model_versions(model=MODEL, size=1).total == versions + 1
    newest = Client().list_model_versions(model=MODEL, sort_by="desc:number", size=1).items[0]
    assert newest.number > before
    assert f"Retrained: {MODEL} version {newest.number} " in result.stdout
    assert np.isfinite(newest.run_metadata["test_accuracy"])
