"""The batch inference pipeline: load → validate features → predict, and a drift check."""

from __future__ import annotations

from uuid import UUID

from zenml import get_pipeline_context, pipeline
from zenml.client import Client
from zenml.enums import ExecutionMode

from steps.inference import detect_drift, load_batch, predict, validate_features


# No config file of its own: the client pins the training config's model at its production
# version (pipelines/runner.py). "production" moves, so nothing is ever reused from a cache.
@pipeline(name="batch_inference", enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
def batch_inference_pipeline(
    input_file_id: UUID, input_path: str, p_value_threshold: float = 0.01
) -> None:
    """A feature drifts when its KS test's p-value is below `p_value_threshold`."""
    # These references resolve when the run starts, to the production version's own
    # artifacts and metadata (nothing is copied).
    production = get_pipeline_context().model
    # The client saved the input file as an artifact (pipelines/inputs.py).
    dataset = production.run_metadata["dataset"]
    raw = load_batch(Client().get_artifact_version(input_file_id), path=input_path, dataset=dataset)
    features = validate_features(raw, dataset, path=input_path)
    predict(production.get_model_artifact("classifier"), features, raw)
    detect_drift(
        production.get_artifact("train_data"), features, p_value_threshold=p_value_threshold
    )
