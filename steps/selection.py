"""Choose the winner by cross-validation only: the test split never takes part."""

from __future__ import annotations

from typing import Annotated, Any

from sklearn.pipeline import Pipeline
from zenml import ArtifactConfig, step
from zenml.enums import ArtifactType


def best_candidate(results: list[dict[str, Any]]) -> int:
    """Index of the highest CV score; ties go to the steadier (lower std), then by name."""
    if not results:
        raise ValueError("no candidates were trained: list at least one in the config")
    ranked = sorted(
        range(len(results)),
        key=lambda i: (-results[i]["cv_score"], results[i]["cv_std"], results[i]["name"]),
    )
    return ranked[0]


@step
def select_model(
    models: list[Pipeline], results: list[dict]
) -> tuple[
    Annotated[Pipeline, ArtifactConfig(name="classifier", artifact_type=ArtifactType.MODEL)],
    Annotated[dict, "selection"],
]:
    """Choose the candidate with the best CV score (the test split never takes part).

    Takes: the candidate models and their CV results, in the same order.
    Gives: `classifier`, the chosen model (a ZenML model artifact); `selection`, the chosen
    candidate's result and every candidate's.
    """
    winner = best_candidate(results)
    return models[winner], {"chosen": results[winner], "candidates": results}
