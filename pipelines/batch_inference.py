"""The batch inference pipeline: load → validate features → predict, and a drift check."""

from __future__ import annotations

from uuid import UUID

from zenml import get_pipeline_context, pipeline
from zenml.client import Client
from zenml.enums import ExecutionMode

from steps.drift import DEFAULT_ALPHA, DEFAULT_MIN_ROWS
from steps.inference import detect_drift, load_batch, predict, validate_features


# No config file of its own: the client pins the training config's model at its production
# version (pipelines/runner.py). "production" moves, so nothing is ever reused from a cache.
@pipeline(name="batch_inference", enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
def batch_inference_pipeline(
    input_file_id: UUID,
    input_path: str,
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> None:
    """A feature drifts when its test's Benjamini-Hochberg adjusted p-value is at most
    `alpha` (a false discovery rate); a file of fewer than `min_rows` rows gets no verdict."""
    # These references resolve when the run starts, to the production version's own
    # artifacts and metadata (nothing is copied).
    production = get_pipeline_context().model
    # The client saved the input file as an artifact (pipelines/inputs.py).
    dataset = production.run_metadata["dataset"]
    raw = load_batch(Client().get_artifact_version(input_file_id), path=input_path, dataset=dataset)
    features = validate_features(raw, dataset, path=input_path)
    predict(production.get_model_artifact("classifier"), features, raw)
    detect_drift(production.get_artifact("train_data"), features, alpha=alpha, min_rows=min_rows)
