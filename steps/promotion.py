"""Promote the new model version to production only when it is good enough and no worse.

This step is never cached: a cached promotion would silently skip the decision on re-runs.
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

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    score: float, production_score: float | None, gate: QualityGate
) -> PromotionDecision:
    """The gate first, then the comparison with production on the same test data (ties promote)."""
    if score < gate.min_value:
        return PromotionDecision(
            False, f"test {gate.metric} {score:.4f} is below the quality gate {gate.min_value:.4f}"
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


def score_on(
    model: Pipeline, test: pd.DataFrame, dataset: DatasetSpec, metric: str
) -> float | None:
    """Another model's metric on this test split; None if it cannot read these columns."""
    try:
        return compute_metrics(model, test, dataset)[metric]
    except (KeyError, ValueError) as error:
        logger.warning("The production model cannot score this data (%s).", error)
        return None


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
    production_score = None
    if current is not None and current.id != new_version.id:
        production_model = current.get_artifact("classifier").load()
        production_score = score_on(production_model, test, dataset, quality_gate.metric)
    decision = decide_promotion(metrics[quality_gate.metric], production_score, quality_gate)
    if decision.promote:
        new_version.set_stage(ModelStages.PRODUCTION, force=True)
    logger.info("%s: %s", "Promoted" if decision.promote else "Not promoted", decision.reason)
    chosen = selection["chosen"]
    record: dict[str, Any] = {
        **asdict(decision),
        "previous_production": current.name if current is not None else None,
        "production_score_on_this_test": production_score,
    }
    log_metadata(
        {
            "data_md5": data_md5,
            "dataset_path": dataset.path,
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
    return record
