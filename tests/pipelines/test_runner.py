"""The run's failure report: an outage is reported once, without a traceback."""

import subprocess
import sys

import pytest

from tests.helpers import REPO

# An object that fails in __del__ the way an S3 file whose upload timed out does.
GARBAGE_COLLECTED_FAILURE = """
from botocore.exceptions import ReadTimeoutError
from pipelines.command_line import quiet_expected_failures

class UnwrittenFile:
    def __init__(self, error):
        self.error = error
    def __del__(self):
        raise self.error

quiet_expected_failures()
UnwrittenFile(ReadTimeoutError(endpoint_url="http://127.0.0.1:9/bucket/log"))
UnwrittenFile(ValueError("a bug, not an outage"))
print("done")
"""


@pytest.mark.slow  # a subprocess that imports ZenML: seconds
def test_an_outage_met_again_in_garbage_collection_prints_no_traceback():
    result = subprocess.run(
        [sys.executable, "-c", GARBAGE_COLLECTED_FAILURE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    assert "ReadTimeoutError" not in result.stderr
    # Anything else still reaches the user in full.
    assert "ValueError: a bug, not an outage" in result.stderr
    assert result.stderr.count("Traceback") == 1


def test_opentelemetry_still_flushes_its_log_handler_in_a_new_thread():
    """The reason for flush_log_export_before_exit: if upstream stops starting a thread in
    LoggingHandler.flush, the workaround can go."""
    import threading

    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    flushed_in: list[threading.Thread] = []

    class Provider:
        def get_logger(self, *args, **kwargs):
            return None

        def force_flush(self) -> None:
            flushed_in.append(threading.current_thread())

    handler = LoggingHandler(logger_provider=Provider())
    handler.flush()
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(timeout=5)
    assert flushed_in and flushed_in[0] is not threading.main_thread()

    # The workaround flushes in this thread, and later flushes do nothing.
    from pipelines.command_line import flush_otel_log_handlers

    flushed_in.clear()
    flush_otel_log_handlers()
    assert flushed_in == [threading.current_thread()]
    handler.flush()
    assert flushed_in == [threading.current_thread()]


def test_under_dvc_the_config_must_train_on_the_data_dvc_tracks(tmp_path, monkeypatch):
    from pipelines.runner import RunStopped, check_dvc_data

    (tmp_path / "params.yaml").write_text("config: configs/mine.yaml\ndata: data/raw/mine.csv\n")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setenv("DVC_STAGE", "train")
    check_dvc_data(tmp_path / "configs/mine.yaml", "data/raw/mine.csv")
    check_dvc_data(tmp_path / "configs/mine.yaml", str(tmp_path / "data/raw/mine.csv"))
    with pytest.raises(RunStopped) as stopped:
        check_dvc_data(tmp_path / "configs/mine.yaml", "data/raw/iris.csv")
    assert stopped.value.status == 2
    assert "params.yaml has data: data/raw/mine.csv" in str(stopped.value)
    assert "Set `data: data/raw/iris.csv` in params.yaml" in str(stopped.value)

    monkeypatch.delenv("DVC_STAGE")  # outside `dvc repro`, params.yaml does not matter
    check_dvc_data(tmp_path / "configs/mine.yaml", "data/raw/iris.csv")


def test_the_shipped_params_name_the_shipped_config_and_its_data():
    import yaml

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    config = yaml.safe_load((REPO / params["config"]).read_text())
    assert config["parameters"]["dataset"]["path"] == params["data"]
    assert (REPO / f"{params['data']}.dvc").is_file()


def test_a_step_containers_exit_is_its_last_lines_decoded():
    """What docker's SDK raises when a step container fails: its output as bytes."""
    from docker.errors import ContainerError

    from pipelines.runner import container_output_tail

    frame = '  File "/app/steps/promotion.py", line {}, in promote\n    résumé()\n'
    traceback = "".join(frame.format(n) for n in range(200))
    output = f"Traceback (most recent call last):\n{traceback}RuntimeError: store gone\n".encode()
    error = ContainerError("c0ffee", 1, "python -m zenml.entrypoints", "localhost/steps", output)
    assert len(str(error)) > 10_000 and "\\xc3\\xa9" in str(error)  # escaped bytes

    tail = container_output_tail(error)
    assert tail.startswith("the container exited with status 1; its last lines:")
    lines = tail.splitlines()[1:]
    assert len(lines) == 6 and lines[-1] == "  RuntimeError: store gone"
    assert "résumé()" in tail and "\\x" not in tail
    assert container_output_tail(ContainerError("c", 137, "x", "i", None)).endswith("(none)")
