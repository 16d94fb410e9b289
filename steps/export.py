"""Export the promoted model to BentoML's model store, where the service picks it up.

Labels and metadata make lineage one hop long: a served prediction names its BentoML tag,
whose labels name the ZenML model version, the training run and the data's DVC md5.
ZenML's own BentoML deployer fails on BentoML 1.4 services, so BentoML's API is used here.
"""

from __future__ import annotations

from typing import Any

import bentoml
from sklearn.pipeline import Pipeline

from steps.config_models import DatasetSpec


def serving_metadata(
    model: Pipeline, dataset: DatasetSpec, metrics: dict[str, Any], chosen: dict[str, Any]
) -> dict[str, Any]:
    """What the service needs to validate requests and describe itself."""
    return {
        "target": dataset.target,
        "classes": [str(label) for label in model.classes_],
        "features": [
            {"name": name, "min": spec.min, "max": spec.max}
            for name, spec in dataset.features.items()
        ],
        "model_family": chosen["name"],
        "hyperparameters": chosen["best_params"],
        "cv_accuracy": chosen["cv_accuracy"],
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "test_rows": metrics["test_rows"],
    }


def export_model(
    model: Pipeline, name: str, labels: dict[str, str], metadata: dict[str, Any]
) -> str:
    """Save the model under `name`; the new tag becomes `name:latest`."""
    saved = bentoml.sklearn.save_model(name, model, labels=labels, metadata=metadata)
    return str(saved.tag)


def discard_export(tag: str) -> None:
    """Undo an export whose promotion did not complete, so `latest` stays production."""
    bentoml.models.delete(tag)
