"""Batch inference: the production model from the Model Control Plane scores a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from service.contract import predicted_labels
from steps.config_models import DatasetSpec
from steps.data import file_md5, read_dataset
from steps.drift import drift_html, drift_report
from steps.validation import validate_dataset


def label_rows(
    model: Pipeline, features: pd.DataFrame, original: pd.DataFrame, model_version: str
) -> pd.DataFrame:
    """The input as it was read, plus the label, each class's probability and the version."""
    classes = [str(label) for label in model.classes_]
    labels, probabilities = predicted_labels(model.predict_proba(features), classes)
    labelled = original.loc[features.index].copy()
    labelled["predicted_label"] = labels
    for index, label in enumerate(classes):
        labelled[f"probability_{label}"] = probabilities[:, index]
    labelled["model_version"] = model_version
    return labelled


@step
def load_batch(input_file: Path, path: str) -> Annotated[pd.DataFrame, "input_data"]:
    """`input_file` is the client's file `path`, through the artifact store."""
    frame = read_dataset(input_file, shown_as=path)
    log_metadata(
        {"data_md5": file_md5(input_file), "rows": len(frame), "path": path},
        artifact_name="input_data",
        infer_artifact=True,
    )
    return frame


@step
def validate_features(
    frame: pd.DataFrame, dataset: dict[str, Any], path: str
) -> Annotated[pd.DataFrame, "input_features"]:
    """The training rules minus the target, which new data does not have."""
    return validate_dataset(
        frame,
        DatasetSpec.model_validate(dataset),
        path,
        with_target=False,
        outcome="nothing was predicted",
    )


@step
def predict(
    model: Pipeline, features: pd.DataFrame, original: pd.DataFrame
) -> Annotated[pd.DataFrame, "predictions"]:
    version = get_step_context().model  # the run config pins the production version
    return label_rows(model, features, original, str(version.number))


@step
def detect_drift(
    reference: pd.DataFrame, features: pd.DataFrame, p_value_threshold: float
) -> tuple[Annotated[dict[str, Any], "drift_report"], Annotated[HTMLString, "drift_view"]]:
    """`reference` is the production version's training split."""
    report = drift_report(reference, features, list(features.columns), p_value_threshold)
    log_metadata({"drift": report})  # on the run, beside the artifact
    view = HTMLString(drift_html(report))
    return report, view
