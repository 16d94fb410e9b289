"""What the client does around a pipeline run: checks first, inputs in, one clean failure out.

run.py parses options and calls these. Every way a run can end without a result is a
RunStopped whose message is the whole story for the user (no traceback wall): the same on
every stack, whether the step ran in this process or in a container.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


class RunStopped(Exception):
    """A run that ended without a result; `status` is the exit status (2: a config error)."""

    def __init__(self, message: str, status: int = 1, production_unchanged: bool = True):
        super().__init__(message)
        self.status = status
        self.production_unchanged = production_unchanged


@dataclass(frozen=True)
class StepFailure:
    step: str
    type: str
    message: str
    outage: bool


def is_outage(error: BaseException) -> bool:
    """The storage (or another service) stopped answering: nothing the run's code did."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(error, (ConnectionError, TimeoutError, BotoConnectionError, HTTPClientError))


def is_expected(error: BaseException) -> bool:
    """Bad data, a candidate whose fits fail, or an outage, anywhere in the exception's
    chain: the message says it all (the step's log keeps the traceback)."""
    from steps.candidates import CandidateSearchFailed
    from steps.validation import DataValidationError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (DataValidationError, CandidateSearchFailed)) or is_outage(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def unique_run_name(pipeline_name: str) -> str:
    """ZenML's own run-name pattern, fixed up front so a failed run can be found again."""
    return f"{pipeline_name}-{datetime.now().strftime('%Y_%m_%d-%H_%M_%S_%f')}"


def step_failure(run_name: str, raised: BaseException) -> StepFailure | None:
    """The failed step of a run, and why: as the failure hook recorded it (steps/promotion.py).

    A step that failed before its code ran (loading its inputs, say) has no record: then the
    error raised here says why, unless it is only a container's exit.
    """
    from zenml.client import Client
    from zenml.enums import ExecutionStatus

    try:
        run = Client().get_pipeline_run(run_name)
    except KeyError:
        return None
    failed = [name for name, step in run.steps.items() if step.status == ExecutionStatus.FAILED]
    if not failed:
        return None
    metadata = run.steps[failed[0]].run_metadata
    if "failure_type" in metadata:
        kind, message = str(metadata["failure_type"]), str(metadata["failure"])
        outage = kind in OUTAGE_TYPES
    elif type(raised).__name__ == "ContainerError":
        kind, message, outage = "error", container_output_tail(raised), False
    else:
        kind, message, outage = type(raised).__name__, str(raised), is_expected(raised)
    return StepFailure(failed[0], kind, message, outage)


def container_output_tail(error: BaseException, lines: int = 6) -> str:
    """A step container's exit as a person reads it: docker's ContainerError holds the
    container's whole output as bytes (kilobytes of escaped traceback); its last lines say
    what failed."""
    output = getattr(error, "stderr", None) or b""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    tail = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    status = getattr(error, "exit_status", "?")
    shown = "".join(f"\n  {line[:300]}" for line in tail)
    return f"the container exited with status {status}; its last lines:{shown or ' (none)'}"


# What the failure hook records of an outage, by exception type name.
OUTAGE_TYPES = {
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ConnectionError",
    "TimeoutError",
}


def explain_failure(action: str, run_name: str, error: BaseException) -> RunStopped:
    """One message for a run that raised: read from the run, not from the raised error.

    A step in a container reaches the client as a container error holding an escaped
    traceback; the failure hook's record is the same on every orchestrator.
    """
    failure = step_failure(run_name, error)
    if failure is None and type(error).__name__ == "ContainerError":
        return RunStopped(f"{action} failed in a step container: {container_output_tail(error)}")
    if failure is None:
        from stack.checks import cluster_failure

        said = cluster_failure(error) or f"{type(error).__name__}: {error}"
        return RunStopped(f"{action} failed before any step ran: {said}")
    if failure.type == "DataValidationError":
        return RunStopped(f"{action} stopped: {failure.message}")
    hint = (
        "\nThe storage stopped answering: run again once it is back (`python run.py stack` "
        "shows where the artifacts go)."
        if failure.outage
        else ""
    )
    return RunStopped(
        f"{action} stopped at step {failure.step}: {failure.type}: {failure.message}{hint}"
    )


def discard_failed_version(run_name: str) -> None:
    """A failed run leaves no model version behind: its version has no model and would
    only crowd `models` (the failure stays on the run's failed step, read back above)."""
    from pipelines.model_registry import delete_unpromoted_version

    try:
        delete_unpromoted_version(run_name)
    except Exception:  # the store itself may be what failed: the run's message says so
        return


def check_before_run(action: str, config_path: Path | None = None) -> None:
    """The config, then the active artifact store: problems found before ZenML starts a run."""
    if config_path is not None:
        from steps.config_models import ConfigError, check_training_config

        try:
            parameters = check_training_config(config_path)
        except ConfigError as error:
            raise RunStopped(f"Training not started: {error}", status=2) from None
        check_dvc_data(config_path, parameters.dataset.path)

    from pipelines.command_line import nothing_run
    from stack.s3 import S3Unavailable, check_active_artifact_store

    try:
        check_active_artifact_store()
    except S3Unavailable as error:
        raise RunStopped(
            f"{action} not started: {error}\n{nothing_run(config_path is not None)}",
            production_unchanged=False,
        ) from None


def check_dvc_data(config_path: Path, dataset_path: str) -> None:
    """Under `dvc repro`, the data DVC tracks for the stage is the data the config trains on.

    dvc.yaml cannot read a path out of the config it names, so params.yaml names both; a
    mismatch would train on one file while DVC versions another.
    """
    import os

    import yaml

    root = os.environ.get("DVC_ROOT")
    if not os.environ.get("DVC_STAGE") or not root or not (Path(root) / "params.yaml").is_file():
        return
    params = yaml.safe_load((Path(root) / "params.yaml").read_text()) or {}
    tracked = params.get("data")
    if tracked and (Path(root) / tracked).resolve() != (Path(root) / dataset_path).resolve():
        raise RunStopped(
            f"Training not started: params.yaml has data: {tracked}, but {config_path} "
            f"trains on {dataset_path}. Set `data: {dataset_path}` in params.yaml, so DVC "
            "versions the data this config reads.",
            status=2,
        )


def stack_settings(action: str, unchanged: bool) -> dict[str, Any]:
    """The active stack's run settings; for steps in containers, the ZenML server and the
    Docker API are asked first.

    The switch checked both too, but the server (`make dashboard-stop`), a podman socket or
    a Docker engine may have stopped since.
    """
    from zenml.client import Client

    from pipelines.command_line import nothing_run
    from stack.checks import StackUnavailable, check_docker_api, check_zenml_server
    from stack.images import pipeline_settings
    from stack.settings import StackSettingsError

    try:
        settings = pipeline_settings()
        if settings:  # steps in containers (docker, kubernetes): image built via Docker API
            check_zenml_server(Client().active_stack_model.name, then="run again")
            check_docker_api()
    except (StackSettingsError, StackUnavailable) as error:
        raise RunStopped(
            f"{action} not started: {error}\n{nothing_run(unchanged)}", production_unchanged=False
        ) from None
    return settings


def stage(path: str | Path, artifact_name: str, action: str):
    """The input file as an artifact of the active store (pipelines/inputs.py)."""
    from pipelines.inputs import stage_file
    from steps.validation import DataValidationError

    try:
        return stage_file(path, artifact_name)
    except DataValidationError as error:
        raise RunStopped(f"{action} stopped: {error}") from None


def lost_cached_artifacts(pipeline_name: str) -> bool:
    """Did the active store lose outputs of the pipeline's last completed run?

    ZenML's cache reuses them without looking, and the run would fail in a later step.
    One existence check per output of that run in this store.
    """
    from zenml.client import Client

    client = Client()
    store = client.active_stack.artifact_store
    runs = client.list_pipeline_runs(
        pipeline_name=pipeline_name, status="completed", sort_by="desc:created", size=1
    ).items
    outputs = (
        artifact
        for run in runs
        for step in run.steps.values()
        for artifacts in step.outputs.values()
        for artifact in artifacts
        if artifact.artifact_store_id == store.id
    )
    # An output outside the store's path (re-pointed at another bucket) is lost to it too.
    return any(
        not (artifact.uri.startswith(store.path) and store.exists(artifact.uri))
        for artifact in outputs
    )


def run_training(config_path: Path, no_cache: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """Check, stage the data, run the training pipeline; the run's summary, or RunStopped."""
    import yaml

    check_before_run("Training", config_path)
    from pipelines.project_paths import resolve_project_path
    from pipelines.zenml_startup import trim_startup

    trim_startup()  # before the pipeline compiles (ZenML activates integrations then)

    dataset_path = resolve_project_path(
        yaml.safe_load(config_path.read_text())["parameters"]["dataset"]["path"]
    )

    from pipelines.inputs import TRAINING_DATA, data_revision
    from pipelines.run_report import collect_summary
    from pipelines.training import training_pipeline

    settings = stack_settings("Training", unchanged=True)
    staged = stage(dataset_path, TRAINING_DATA, "Training")
    if not no_cache and (staged.store_lost_it or lost_cached_artifacts("training")):
        say(
            "The artifact store no longer holds artifacts that ZenML's cache points at (an "
            "S3 server restarted empty, files deleted?): every step runs again this time."
        )
        no_cache = True
    run_name = unique_run_name("training")
    options: dict[str, Any] = {"config_path": str(config_path), "run_name": run_name}
    if settings:
        options["settings"] = settings
    if no_cache:
        options["enable_cache"] = False
    configured = training_pipeline.with_options(**options)
    try:
        run = configured(
            data_file_id=staged.artifact_id,
            data_md5=staged.md5,
            data_revision=data_revision(dataset_path),
        )
    except Exception as error:
        stopped = explain_failure("Training", run_name, error)
        discard_failed_version(run_name)
        raise stopped from None
    return collect_summary(run, configured.configuration.model.name)


def reachable_production(action: str, model_name: str) -> Any:
    """The checks before a run on production: the store, a production version, and its
    classifier loadable from here; the version, or RunStopped saying what is missing."""
    from pipelines.model_registry import (
        ModelUnavailable,
        no_production,
        production_unavailable,
        production_version,
        reachable_classifier,
    )
    from pipelines.zenml_startup import trim_startup

    check_before_run(action)
    trim_startup()  # before the pipeline compiles (ZenML activates integrations then)
    production = production_version(model_name)
    if production is None:
        raise RunStopped(no_production(model_name), production_unchanged=False)
    try:
        reachable_classifier(production)
    except ModelUnavailable as error:
        raise RunStopped(production_unavailable(error), production_unchanged=False) from None
    return production


def run_batch_inference(input_path: Path, model_name: str) -> dict[str, Any]:
    """Check production is there and loadable, stage the file, run batch inference.

    The model is the training config's (`model_name`), pinned at its production version
    when the run starts: no second config to keep in step with the first.
    """
    reachable_production("Prediction", model_name)
    from pipelines.batch_inference import batch_inference_pipeline
    from pipelines.inputs import BATCH_INPUT
    from pipelines.run_report import collect_batch_summary

    settings = stack_settings("Prediction", unchanged=False)
    staged = stage(input_path, BATCH_INPUT, "Prediction")
    run = run_on_production(
        "Prediction",
        batch_inference_pipeline,
        model_name,
        settings,
        input_file_id=staged.artifact_id,
        input_path=str(input_path),
    )
    return collect_batch_summary(run)


def run_on_production(
    action: str, pipeline: Any, model_name: str, run_settings: dict[str, Any], **inputs: Any
) -> Any:
    """Run `pipeline` on `model_name`'s production version with the stack's `run_settings`;
    a failure becomes one RunStopped message (production is never changed by these runs)."""
    from zenml import Model
    from zenml.enums import ModelStages

    run_name = unique_run_name(pipeline.name)
    options: dict[str, Any] = {
        "model": Model(name=model_name, version=ModelStages.PRODUCTION),
        "run_name": run_name,
    }
    if run_settings:
        options["settings"] = run_settings
    try:
        return pipeline.with_options(**options)(**inputs)
    except Exception as error:
        stopped = explain_failure(action, run_name, error)
        stopped.production_unchanged = False
        raise stopped from None


NOTHING_TO_MONITOR = 4  # the exit status of `monitor` with no (or too little) traffic


def log_source(configured: str | None) -> str:
    """Where `monitor` reads the log: --log or the config's `log:`, else where the service
    writes it (SERVING_LOG_S3, SERVING_LOG_DIR, BENTOML_HOME/inference_log)."""
    import os

    from service.inference_log import LOG_S3_VARIABLE, default_log_dir

    return configured or os.environ.get(LOG_S3_VARIABLE) or str(default_log_dir())


@dataclass(frozen=True)
class LoggedRows:
    """The model's logged rows in the window, every feedback row since, unreadable lines."""

    source: str
    window: str
    rows: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    skipped: int


def read_logged_rows(
    model_name: str, source: str, since: datetime | None, last: int | None, min_rows: int
) -> LoggedRows:
    """Read the log before ZenML starts (the standard library only), so "nothing logged"
    is quick; RunStopped (status 4) when there is nothing, or too little, to judge."""
    from service.inference_log import describe_window, read_log

    window = describe_window(since, last)
    try:
        read = read_log(source, "predictions", since=since)
        feedback = read_log(source, "feedback", since=since)
    except Exception as error:  # an S3 error, a folder we may not read: say which
        raise RunStopped(
            f"Monitoring not started: cannot read the inference log at {source}: "
            f"{type(error).__name__}: {error}"
        ) from None
    rows = [row for row in read.rows if row.get("model") == model_name]
    if last is not None:
        rows = rows[-last:]
    if not rows:
        others = sorted({str(row.get("model")) for row in read.rows})
        note = f" ({len(read.rows)} rows of other models: {', '.join(others)})" if others else ""
        raise RunStopped(
            f"Nothing logged for {model_name} {window} in {source}{note}: no verdict. Is "
            "the service logging there (SERVING_LOG_DIR, SERVING_LOG_S3; docs/monitoring.md)?",
            status=NOTHING_TO_MONITOR,
        )
    if len(rows) < min_rows:
        raise RunStopped(
            f"Too few rows ({len(rows)} < {min_rows}) to test drift: {model_name} has "
            f"{len(rows)} logged rows {window} in {source} (min_rows in the monitoring config).",
            status=NOTHING_TO_MONITOR,
        )
    return LoggedRows(source, window, rows, feedback.rows, read.skipped + feedback.skipped)


def run_monitoring(model_name: str, settings: Any, logged: LoggedRows) -> dict[str, Any]:
    """Check production, stage the logged rows, run the monitoring pipeline; its report.

    `settings` is configs/monitoring.yaml (steps.config_models.MonitoringConfig).
    """
    production = reachable_production("Monitoring", model_name)
    from zenml import save_artifact
    from zenml.materializers.pandas_materializer import PandasMaterializer as Frames

    from pipelines.monitoring import monitoring_pipeline
    from pipelines.run_report import collect_monitoring_summary
    from steps.monitoring import feedback_frame, traffic_frame

    features = list(production.run_metadata["dataset"]["features"])
    settings_for_run = stack_settings("Monitoring", unchanged=False)
    # Saved before the pipeline compiles, that is before ZenML activates its pandas
    # integration: the materializer is named, or the frames would be pickled.
    traffic = save_artifact(
        traffic_frame(logged.rows, features), name="monitoring_traffic", materializer=Frames
    )
    feedback = save_artifact(
        feedback_frame(logged.feedback), name="monitoring_feedback", materializer=Frames
    )
    run = run_on_production(
        "Monitoring",
        monitoring_pipeline,
        model_name,
        settings_for_run,
        traffic_id=traffic.id,
        feedback_id=feedback.id,
        settings=settings.model_dump(),
        window=f"{logged.window} in {logged.source}",
        skipped_lines=logged.skipped,
    )
    return collect_monitoring_summary(run)
