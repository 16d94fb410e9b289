"""Export a model version from ZenML's artifact store into BentoML's model store, for serving.

Whoever serves runs this (the end of `python run.py`, `python run.py export`, `promote`,
and the make targets that serve or build), never a pipeline step: a step may run in a
container whose BentoML store nobody sees. Labels and metadata make lineage one hop long:
a served prediction names its BentoML tag, whose labels name the ZenML model version, the
training run and the data's DVC md5. ZenML's own BentoML deployer fails on BentoML 1.4
services, so BentoML's API is used here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy.model_store import NoServingModel, latest_export
from pipelines.model_registry import (
    ModelUnavailable,
    UnknownModel,
    load_classifier,
    model_version,
    no_production,
    production_unavailable,
    production_version,
    reachable_classifier,
    set_production_by_hand,
    training_run_id,
)
from service.export_contract import ExportLabels, ExportMetadata, FeatureSchema


class NothingToExport(LookupError):
    """No version is in production (nothing was promoted yet)."""


@dataclass(frozen=True)
class Export:
    tag: str
    version: int
    created: bool  # False: the store's newest export already was this version


def lineage_labels(version) -> dict[str, str]:
    metadata = version.run_metadata
    return ExportLabels(
        model=version.model.name,
        version=str(version.number),
        run_id=str(metadata.get("run_id") or training_run_id(version)),
        data_md5=str(metadata["data_md5"]),
    ).as_labels()


def feature_schema(name: str, spec: dict[str, Any]) -> FeatureSchema:
    """One feature of the version's dataset spec (categories resolved) as the service
    takes it."""
    categorical = spec.get("type") == "categorical"
    return FeatureSchema(
        name=name,
        kind="categorical" if categorical else "numeric",
        min=spec.get("min"),
        max=spec.get("max"),
        categories=spec["categories"] if categorical else None,
        unknown=spec.get("unknown", "refuse") if categorical else None,
        nullable=spec.get("missing", "refuse") != "refuse",
    )


def serving_metadata(model: Any, version) -> dict[str, Any]:
    """What the service needs to validate requests and describe itself, from what the
    promotion step logged on the version (steps/promotion.py)."""
    from steps.candidates import json_safe

    metadata = version.run_metadata
    dataset = metadata["dataset"]
    return ExportMetadata(
        target=dataset["target"],
        classes=[str(label) for label in model.classes_],
        features=[feature_schema(name, spec) for name, spec in dataset["features"].items()],
        model_family=metadata["model_family"],
        # versions logged before hyperparameters were made JSON-safe may hold None
        hyperparameters=json_safe(metadata["hyperparameters"]),
        cv_metric=metadata.get("cv_metric", "accuracy"),
        cv_score=metadata.get("cv_score", metadata.get("cv_accuracy")),
        test_accuracy=metadata["test_accuracy"],
        test_balanced_accuracy=metadata.get("test_balanced_accuracy"),
        test_macro_f1=metadata["test_macro_f1"],
        test_roc_auc=metadata.get("test_roc_auc"),
        test_rows=metadata["test_rows"],
    ).model_dump(exclude_none=True)


def is_current(model_name: str, labels: dict[str, str]) -> bool:
    """Is the newest export in BentoML's store already this version (same run)?"""
    try:
        export = latest_export(model_name)
    except NoServingModel:
        return False
    return all(export.labels.get(key) == value for key, value in labels.items())


def export_version(model_name: str, number: int | None = None) -> Export:
    """Make version `number` (default: production) the newest export of `model_name`.

    Nothing is written when the newest export already is that version; a rollback to an
    older version exports it again, so it becomes BentoML's `latest`. Raises
    NothingToExport, UnknownModel or ModelUnavailable with a message for the user.
    """
    if number is None:
        version = production_version(model_name)
        if version is None:
            raise NothingToExport(no_production(model_name))
    else:
        version = model_version(model_name, number)
    labels = lineage_labels(version)
    if is_current(model_name, labels):
        return Export(latest_export(model_name).tag, version.number, created=False)
    model = load_classifier(version)

    import bentoml

    saved = bentoml.sklearn.save_model(
        model_name, model, labels=labels, metadata=serving_metadata(model, version)
    )
    return Export(str(saved.tag), version.number, created=True)


def discard_export(tag: str) -> None:
    """Undo an export whose promotion did not complete, so `latest` stays production."""
    import bentoml

    bentoml.models.delete(tag)


def promote(model_name: str, number: int) -> tuple[int | None, Export]:
    """Set version `number` as production by hand, exported first so serving follows.

    A version whose classifier the artifact store cannot deliver raises ModelUnavailable
    before the stage changes, even if this machine's BentoML store still holds a copy:
    production stays what it was.
    """
    version = model_version(model_name, number)
    reachable_classifier(version)
    previous = production_version(model_name)
    export = export_version(model_name, number)
    try:
        set_production_by_hand(version, previous)
    except Exception:
        if export.created:
            discard_export(export.tag)
        raise
    return (previous.number if previous else None), export


class ExportFailed(Exception):
    """An export a command needs cannot be made; the message is the whole story."""


def export_for_command(model_name: str, number: int | None = None) -> Export:
    """The export `export`, `serve` and `bento` start from, or ExportFailed saying why not."""
    try:
        return export_version(model_name, number)
    except (NothingToExport, UnknownModel) as error:
        raise ExportFailed(str(error)) from None
    except ModelUnavailable as error:
        message = production_unavailable(error) if number is None else f"Model {error}."
        raise ExportFailed(message) from None


def export_after_training(model_name: str, warn: Callable[[str], None]) -> Export | None:
    """Production into BentoML's store at the end of a training run; a failure is said
    through `warn`, not raised: the run itself succeeded."""
    try:
        return export_version(model_name)
    except NothingToExport:
        return None
    except ModelUnavailable as error:
        warn(production_unavailable(error))
        return None
