"""The training pipeline: load → validate → split → candidates → select → evaluate → promote."""

from __future__ import annotations

from uuid import UUID

from zenml import pipeline
from zenml.client import Client
from zenml.config import CachePolicy

from pipelines.project_paths import STEPS_DIR
from steps.candidates import train_candidate
from steps.config_models import CandidateSpec, DatasetSpec, QualityGate, SplitSpec
from steps.data import load_data, split_data
from steps.evaluation import evaluate_model
from steps.promotion import promote_model, record_failure
from steps.selection import select_model
from steps.validation import validate_data

# A step's own cache key covers only its function's source: list the files holding the plain
# functions it calls too, or a change to them would reuse stale results.
LOGIC_FILES = sorted(f"steps/{path.name}" for path in STEPS_DIR.glob("*.py"))


@pipeline(
    name="training",
    on_failure=record_failure,
    cache_policy=CachePolicy(file_dependencies=LOGIC_FILES),
)
def training_pipeline(
    data_file_id: UUID,
    data_md5: str,
    data_revision: str | None,
    dataset: DatasetSpec,
    split: SplitSpec,
    candidates: dict[str, CandidateSpec],
    cv_folds: int,
    quality_gate: QualityGate,
    seed: int,
    cv_metric: str = "accuracy",
    cv_max_rows: int | None = 20000,
) -> None:
    # The client saved the data file as an artifact (pipelines/inputs.py); resolved when
    # the step runs, wherever that is.
    raw = load_data(Client().get_artifact_version(data_file_id), dataset=dataset, data_md5=data_md5)
    clean, schema = validate_data(raw, dataset=dataset)  # schema: learned categories resolved
    train, test = split_data(clean, dataset=dataset, split=split, seed=seed)
    models, results = [], []
    for name, spec in candidates.items():
        model, result = train_candidate(
            train,
            schema,
            name=name,
            spec=spec,
            cv_folds=cv_folds,
            seed=seed,
            cv_metric=cv_metric,
            cv_max_rows=cv_max_rows,
            id=f"train_{name}",
        )
        models.append(model)
        results.append(result)
    chosen, selection = select_model(models, results)
    metrics, _, _ = evaluate_model(chosen, test, schema)
    promote_model(
        chosen,
        metrics,
        selection,
        test,
        schema,
        quality_gate=quality_gate,
        data_md5=data_md5,
        data_revision=data_revision,
    )
