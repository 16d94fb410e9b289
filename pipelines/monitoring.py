"""The monitoring pipeline: the logged traffic against the production version's training data."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from zenml import get_pipeline_context, pipeline
from zenml.client import Client
from zenml.enums import ExecutionMode

from steps.monitoring_step import compare_traffic


# No run config of its own: the client pins the training config's model at its production
# version (pipelines/runner.py) and passes configs/monitoring.yaml's settings. The traffic
# changes every time, so nothing is reused from a cache.
@pipeline(name="monitoring", enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
def monitoring_pipeline(
    traffic_id: UUID,
    feedback_id: UUID,
    settings: dict[str, Any],
    window: str,
    skipped_lines: int = 0,
) -> None:
    # Resolved when the run starts, to the production version's own artifacts: its
    # training split is the reference on every stack (nothing read from the client's disk).
    production = get_pipeline_context().model
    compare_traffic(
        production.get_artifact("train_data"),
        Client().get_artifact_version(traffic_id),
        Client().get_artifact_version(feedback_id),
        production.get_model_artifact("classifier"),
        production.run_metadata["dataset"],
        settings=settings,
        window=window,
        skipped_lines=skipped_lines,
    )
