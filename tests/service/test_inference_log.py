"""The inference log: one line per row, rotation under a size bound, several processes, a
truncated file, and S3 uploads against a real (moto) S3 server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from service.inference_log import (
    InferenceLog,
    default_log_dir,
    from_environment,
    read_log,
    segments,
)
from stack.s3_server import LOCAL_CREDENTIALS, start
from tests.helpers import REPO, free_port

ROW = {"plan": "basic", "monthly_spend": 42.5, "tenure_months": None}


def log_requests(log: InferenceLog, count: int, prefix: str = "r") -> None:
    for index in range(count):
        log.log_predictions(
            f"{prefix}{index}", "predict", "churn", "3", [ROW], ["no"], [{"no": 0.8, "yes": 0.2}]
        )


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in segments(folder))


def test_each_row_is_a_json_line_with_the_request_fields(tmp_path):
    log = InferenceLog(tmp_path)
    log.log_predictions(
        "req-1",
        "predict_batch",
        "churn",
        "3",
        [ROW, {**ROW, "monthly_spend": float("nan")}],
        ["no", "yes"],
        [{"no": 0.8, "yes": 0.2}, {"no": 0.4, "yes": 0.6}],
    )
    log.close()
    rows = read_log(tmp_path).rows
    assert [row["row"] for row in rows] == [0, 1]
    first = rows[0]
    assert first["request_id"] == "req-1" and first["api"] == "predict_batch"
    assert (first["model"], first["model_version"], first["label"]) == ("churn", "3", "no")
    assert first["features"] == ROW and first["probabilities"] == {"no": 0.8, "yes": 0.2}
    assert rows[1]["features"]["monthly_spend"] is None  # NaN: missing
    stamp = datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(first["time"]) == len("2026-12-02T19:05:00.123Z")
    assert abs(stamp.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(
        minutes=1
    )
    assert log.rows_of("req-1") == 2 and not log.knows("req-2")


def test_50000_requests_stay_under_the_size_bound(tmp_path, report):
    max_bytes = 2_000_000
    log = InferenceLog(tmp_path, max_bytes=max_bytes, queue_size=60_000)
    started = time.perf_counter()
    log_requests(log, 50_000)
    per_call = (time.perf_counter() - started) / 50_000
    log.close()
    assert log.dropped == 0
    total = folder_bytes(tmp_path)
    report(
        f"inference log: 50,000 requests, {per_call * 1e6:.1f} us per log call, folder "
        f"{total:,} bytes in {len(segments(tmp_path))} segments (bound {max_bytes:,})"
    )
    assert total <= max_bytes
    read = read_log(tmp_path)
    assert read.skipped == 0 and read.files == len(segments(tmp_path)) > 5
    assert read.rows[-1]["request_id"] == "r49999"  # the oldest went, the newest stayed
    assert read.rows[0]["request_id"] != "r0"
    assert read_log(tmp_path, last=10).rows[0]["request_id"] == "r49990"


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    log = InferenceLog(tmp_path, queue_size=1)
    log_requests(log, 2_000)
    log.close()
    assert log.dropped > 0
    assert len(read_log(tmp_path).rows) == 2_000 - log.dropped


def test_a_line_cut_mid_way_is_skipped_and_counted(tmp_path):
    log = InferenceLog(tmp_path)
    log_requests(log, 3)
    log.close()
    (segment,) = segments(tmp_path, "predictions")
    content = segment.read_bytes()
    segment.write_bytes(content + content.splitlines()[0][:37] + b"\nnot json\n[1, 2]\n")
    read = read_log(tmp_path)
    assert len(read.rows) == 3 and read.skipped == 3


def test_feedback_is_a_stream_of_its_own(tmp_path):
    log = InferenceLog(tmp_path)
    log_requests(log, 2)
    log.log_feedback("r1", 0, "yes")
    log.close()
    assert [path.name.split("-")[0] for path in segments(tmp_path)] == ["predictions", "feedback"]
    (feedback,) = read_log(tmp_path, "feedback").rows
    assert (feedback["feedback_for"], feedback["row"], feedback["label"]) == ("r1", 0, "yes")
    assert len(read_log(tmp_path, "predictions").rows) == 2


def test_since_keeps_the_rows_logged_after_it(tmp_path):
    log = InferenceLog(tmp_path)
    log_requests(log, 2)
    log.close()
    assert len(read_log(tmp_path, since=datetime.now(timezone.utc) - timedelta(hours=1)).rows) == 2
    assert read_log(tmp_path, since=datetime.now(timezone.utc) + timedelta(hours=1)).rows == []


WORKER = """
import sys
sys.path.insert(0, {service!r})
from pathlib import Path
from inference_log import InferenceLog
log = InferenceLog(Path({folder!r}), segment_bytes=20_000)
for index in range(2000):
    log.log_predictions(f"{{sys.argv[1]}}-{{index}}", "predict", "churn", "3",
                        [{{"plan": "pro"}}], ["no"], [{{"no": 1.0}}])
log.close()
"""


def test_two_worker_processes_write_files_of_their_own(tmp_path):
    code = WORKER.format(service=str(REPO / "service"), folder=str(tmp_path))
    workers = [subprocess.Popen([sys.executable, "-c", code, name]) for name in ("a", "b")]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    pids = {path.name.split("-")[2] for path in segments(tmp_path)}
    assert len(pids) == 2
    rows = read_log(tmp_path).rows
    assert len(rows) == 4000
    assert {row["request_id"].split("-")[0] for row in rows} == {"a", "b"}
    # A third process finds the others' ids in the files (the service's /feedback check).
    reader = InferenceLog(tmp_path)
    assert reader.rows_of("b-1999") == 1 and reader.rows_of("c-0") is None
    reader.close()


def test_the_environment_sets_folder_bound_and_off(tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SERVING_LOG_DIR", raising=False)
    assert default_log_dir() == tmp_path / "home" / "inference_log"
    monkeypatch.setenv("SERVING_LOG_DIR", str(tmp_path / "here"))
    monkeypatch.setenv("SERVING_LOG_MAX_BYTES", "1048576")
    log = from_environment()
    assert log is not None and log.folder == tmp_path / "here" and log.max_bytes == 1048576
    log.close()
    monkeypatch.setenv("SERVING_LOG_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="SERVING_LOG_MAX_BYTES"):
        from_environment()
    monkeypatch.setenv("SERVING_LOG", "off")
    assert from_environment() is None


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    process = start(port, "inference-tests")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_closed_segments_go_to_s3_and_are_read_back(tmp_path, monkeypatch, s3_endpoint):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    log = InferenceLog(tmp_path, segment_bytes=30_000, s3_prefix="s3://inference-tests/svc/")
    log_requests(log, 1000)
    log.log_feedback("r5", 0, "yes")
    log.close()
    assert log.upload_failures == 0
    local = read_log(tmp_path)
    remote = read_log("s3://inference-tests/svc")
    assert remote.files == len(segments(tmp_path, "predictions")) > 1
    assert [row["request_id"] for row in remote.rows] == [row["request_id"] for row in local.rows]
    assert read_log("s3://inference-tests/svc", "feedback").rows[0]["feedback_for"] == "r5"


def test_an_upload_that_fails_is_one_warning_never_an_error(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    log = InferenceLog(tmp_path, s3_prefix="s3://inference-tests/svc")
    log_requests(log, 3)
    log.close()
    assert log.upload_failures == 1
    assert "upload of predictions-" in caplog.text
    assert len(read_log(tmp_path).rows) == 3  # the local file is kept


def test_the_service_folder_imports_it_by_bare_name():
    """The bento packs service/ alone: no import from the project's other packages."""
    source = (REPO / "service" / "inference_log.py").read_text()
    assert "from steps" not in source and "from pipelines" not in source
    result = subprocess.run(
        [sys.executable, "-c", "import inference_log, sys; print('boto3' in sys.modules)"],
        cwd=REPO / "service",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
        timeout=60,
    )
    assert result.stdout.strip() == "False", result.stderr  # boto3 only for S3
