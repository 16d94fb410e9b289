"""Promote the new model version to production only when it is good enough and no worse.

This step is never cached: a cached promotion would silently skip the decision on re-runs.
It decides and sets the stage in ZenML's Model Control Plane, nothing else: the serving
side exports production's model from the artifact store (deploy/export.py), so the step
works the same wherever it runs.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.enums import ModelStages

from pipelines.model_registry import ModelUnavailable, load_classifier, production_version
from steps.config_models import DatasetSpec, QualityGate
from steps.evaluation import compute_metrics, metric_value

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
    version: int | str = "N",
    same_as_production: int | None = None,
) -> PromotionDecision:
    """The gate first, then production on the same test data (ties promote).

    A production model that cannot be loaded or cannot score this data (say, the features
    changed) cannot be compared, so nothing is promoted automatically: a person decides,
    with the command that `version` names. `same_as_production` is production's version
    number when its classifier is this run's very artifact (a fully cached re-run):
    promoting it would only make an identical production version and a new export of the
    same model, so production, its lineage and what is served stay as they are.
    """
    if score < gate.min_value:
        return PromotionDecision(
            False, f"test {gate.metric} {score:.4f} is below the quality gate {gate.min_value:.4f}"
        )
    if same_as_production is not None:
        return PromotionDecision(
            False,
            f"its classifier is production's own (version {same_as_production}'s, reused "
            f"from ZenML's cache): production stays version {same_as_production}",
        )
    if production_error is not None:
        return PromotionDecision(
            False,
            f"{production_error}, so the two cannot be compared; if this version should "
            f"serve, promote it by hand: `python run.py promote {version}`",
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


def score_production(
    model: Pipeline, test: pd.DataFrame, dataset: DatasetSpec, metric: str
) -> tuple[float | None, str | None]:
    """Production's metric on this test split, or why it cannot be computed."""
    try:
        return metric_value(compute_metrics(model, test, dataset), metric), None
    except (KeyError, ValueError) as error:
        return None, (
            "the production model cannot be scored on this test data "
            f"({type(error).__name__}: {error})"
        )


def compare_with_production(
    current, test: pd.DataFrame, dataset: DatasetSpec, metric: str
) -> tuple[float | None, str | None]:
    """Score production's model on this test split; one it cannot load is an error, not a crash."""
    try:
        model = load_classifier(current)
    except ModelUnavailable as error:
        return None, f"the production model {error}"
    return score_production(model, test, dataset, metric)


def is_this_runs_classifier(current, model_artifact_ids: list) -> bool:
    """Is production's classifier the very artifact this step got (a fully cached re-run)?

    Then there is nothing to decide: scoring it again would repeat the evaluation's number.
    """
    artifact = current.get_artifact("classifier")
    return artifact is not None and artifact.id in model_artifact_ids


def record_failure(exception: BaseException) -> None:
    """Failure hook: the failed step and the run's model version say what failed and why.

    The client reads this back to print one clean message (a step in a container reaches
    the client only as a container error).
    """
    context = get_step_context()
    failure = {
        "failed_step": context.step_run.name,
        "failure_type": type(exception).__name__,
        "failure": str(exception)[:4000],
    }
    log_metadata(failure)
    log_metadata(failure, infer_model=True)


@step(enable_cache=False)
def promote_model(
    model: Pipeline,
    metrics: dict,
    selection: dict,
    test: pd.DataFrame,
    dataset: DatasetSpec,
    quality_gate: QualityGate,
    data_md5: str,
    data_revision: str | None = None,
) -> Annotated[dict, "promotion"]:
    """Decide whether this run's model version becomes production, and set the stage if so.

    Takes: the chosen model, its test metrics and the selection, the test split (to score
    the current production model on the same rows), the dataset spec with its categories
    resolved (logged on the version: the export's request schema), the quality gate,
    and the data's md5 and DVC revision (lineage, logged on the model version).
    Gives: `promotion`, the decision (promote or not, and why) with the previous production
    version and its score on this test split; the model version carries the run's lineage
    and metrics as metadata.
    """
    context = get_step_context()
    new_version = context.model
    current = production_version(new_version.name)
    production_score = production_error = None
    same_model = False
    if current is not None and current.id != new_version.id:
        model_inputs = [artifact.id for artifact in context.inputs.get("model", [])]
        same_model = is_this_runs_classifier(current, model_inputs)
        if same_model:
            # same model, same test split
            production_score = metric_value(metrics, quality_gate.metric)
        else:
            production_score, production_error = compare_with_production(
                current, test, dataset, quality_gate.metric
            )
    decision = decide_promotion(
        metric_value(metrics, quality_gate.metric),
        quality_gate,
        production_score,
        production_error,
        version=new_version.number,
        same_as_production=current.number if same_model else None,
    )
    chosen = selection["chosen"]
    record: dict[str, Any] = {
        **asdict(decision),
        "previous_production": current.name if current is not None else None,
        "production_score_on_this_test": production_score,
    }
    log_metadata(
        {
            "data_md5": data_md5,
            "data_revision": data_revision or "unknown",
            "dataset_path": dataset.path,
            "dataset": dataset.model_dump(mode="json"),
            "run_id": str(context.pipeline_run.id),
            "model_family": chosen["name"],
            "estimator": chosen["estimator"],
            "hyperparameters": chosen.get("hyperparameters", chosen["best_params"]),  # JSON-safe
            "cv_metric": chosen["cv_metric"],
            "cv_score": chosen["cv_score"],
            "test_accuracy": metrics["accuracy"],
            "test_balanced_accuracy": metrics["balanced_accuracy"],
            "test_macro_f1": metrics["macro_f1"],
            **({"test_roc_auc": metrics["roc_auc"]} if metrics["roc_auc"] is not None else {}),
            "test_rows": metrics["test_rows"],
            "gate_metric": quality_gate.metric,
            "per_class": metrics["per_class"],
            "features": dataset.feature_names,
            "classes": dataset.classes,
            "promotion": record,
        },
        infer_model=True,
    )
    if decision.promote:  # last, so a production version always carries its metadata
        new_version.set_stage(ModelStages.PRODUCTION, force=True)
    logger.info("%s: %s", "Promoted" if decision.promote else "Not promoted", decision.reason)
    return record
