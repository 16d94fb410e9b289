"""Promote the new model version to production only when it is good enough and no worse.

This step is never cached: a cached promotion would silently skip the decision on re-runs.
A promoted model is exported to BentoML first; if anything after that fails, the export is
removed again, so the served model and the production stage never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages

from steps.config_models import DatasetSpec, QualityGate
from steps.evaluation import compute_metrics
from steps.export import discard_export, export_model, serving_metadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    score: float,
    gate: QualityGate,
    production_score: float | None = None,
    production_error: str | None = None,
) -> PromotionDecision:
    """The gate first, then production on the same test data (ties promote).

    A production model that cannot score this data (say, the features changed) cannot be
    compared, so nothing is promoted automatically: a person decides.
    """
    if score < gate.min_value:
        return PromotionDecision(
            False, f"test {gate.metric} {score:.4f} is below the quality gate {gate.min_value:.4f}"
        )
    if production_error is not None:
        return PromotionDecision(
            False,
            f"the production model cannot be scored on this test data ({production_error}), "
            "so the two cannot be compared; promote this version by hand if that is intended",
        )
    if production_score is None:
        return PromotionDecision(
            True, f"test {gate.metric} {score:.4f} passes the gate and there is no production model"
        )
    if score < production_score:
        return PromotionDecision(
            False,
            f"test {gate.metric} {score:.4f} is worse than production's "
            f"{production_score:.4f} on the same test data",
        )
    return PromotionDecision(
        True,
        f"test {gate.metric} {score:.4f} passes the gate and is not worse than "
        f"production's {production_score:.4f} on the same test data",
    )


def production_version(model_name: str):
    """The model version now in production, or None when nothing was ever promoted."""
    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def score_production(
    model: Pipeline, test: pd.DataFrame, dataset: DatasetSpec, metric: str
) -> tuple[float | None, str | None]:
    """Production's metric on this test split, or why it cannot be computed."""
    try:
        return compute_metrics(model, test, dataset)[metric], None
    except (KeyError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"


def record_failure(exception: BaseException) -> None:
    """Failure hook: a failed run's model version says which step failed and why."""
    context = get_step_context()
    log_metadata(
        {"failed_step": context.step_run.name, "failure": str(exception)[:4000]},
        infer_model=True,
    )


@step(enable_cache=False)
def promote_model(
    model: Pipeline,
    metrics: dict,
    selection: dict,
    test: pd.DataFrame,
    dataset: DatasetSpec,
    quality_gate: QualityGate,
    data_md5: str,
) -> Annotated[dict, "promotion"]:
    new_version = get_step_context().model
    current = production_version(new_version.name)
    production_score = production_error = None
    if current is not None and current.id != new_version.id:
        production_model = current.get_artifact("classifier").load()
        production_score, production_error = score_production(
            production_model, test, dataset, quality_gate.metric
        )
    decision = decide_promotion(
        metrics[quality_gate.metric], quality_gate, production_score, production_error
    )
    chosen = selection["chosen"]
    record: dict[str, Any] = {
        **asdict(decision),
        "previous_production": current.name if current is not None else None,
        "production_score_on_this_test": production_score,
    }
    context = get_step_context()
    lineage = {
        "zenml_model": new_version.name,
        "zenml_model_version": str(new_version.number),
        "zenml_run_id": str(context.pipeline_run.id),
        "data_md5": data_md5,
    }
    if decision.promote:
        record["bentoml_tag"] = export_model(
            model, new_version.name, lineage, serving_metadata(model, dataset, metrics, chosen)
        )
    try:
        log_metadata(
            {
                "data_md5": data_md5,
                "dataset_path": dataset.path,
                "dataset": dataset.model_dump(mode="json"),
                "model_family": chosen["name"],
                "estimator": chosen["estimator"],
                "hyperparameters": chosen["best_params"],
                "cv_accuracy": chosen["cv_accuracy"],
                "test_accuracy": metrics["accuracy"],
                "test_macro_f1": metrics["macro_f1"],
                "per_class": metrics["per_class"],
                "features": dataset.feature_names,
                "classes": dataset.classes,
                "promotion": record,
            },
            infer_model=True,
        )
        if decision.promote:  # last, so a production version always carries its metadata
            new_version.set_stage(ModelStages.PRODUCTION, force=True)
    except Exception:
        if "bentoml_tag" in record:
            discard_export(record["bentoml_tag"])
        raise
    logger.info("%s: %s", "Promoted" if decision.promote else "Not promoted", decision.reason)
    return record
