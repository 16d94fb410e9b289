"""Batch inference: the production model from the Model Control Plane scores a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from service.contract import predicted_labels
from steps.config_models import DatasetSpec, ReadOptions
from steps.data import file_md5, first_row, read_dataset
from steps.drift import DEFAULT_ALPHA, DEFAULT_MIN_ROWS, drift_html, drift_report
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


def batch_read_options(dataset: DatasetSpec, first_row_fields: int) -> ReadOptions:
    """The training file's reading options for a file to score: same delimiter and NA
    markers; a headerless file may leave out the target's column (new data has none)."""
    read = dataset.read
    if read.header or read.columns is None or first_row_fields == len(read.columns):
        return read
    without_target = [name for name in read.columns if name != dataset.target]
    if first_row_fields == len(without_target):
        return read.model_copy(update={"columns": without_target})
    return read  # read_dataset says the counts differ


@step
def load_batch(
    input_file: Path, path: str, dataset: dict[str, Any] | None = None
) -> Annotated[pd.DataFrame, "input_data"]:
    """Read the file to score.

    Takes: `input_file`, the client's file as an artifact (so the step reads it wherever it
    runs), `path`, its name as the user gave it (for messages), and the production
    version's dataset spec (as a dict), whose reading options it follows.
    Gives: `input_data`, the rows as read, with md5, row count and path as metadata.
    """
    read = None
    if dataset is not None:
        spec = DatasetSpec.model_validate(dataset)
        read = batch_read_options(spec, len(first_row(input_file, spec.read)))
    frame = read_dataset(input_file, shown_as=path, read=read)
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
    """Check the input against the training rules minus the target (new data has none).

    Takes: the input frame, the production version's dataset spec (as a dict) and the path.
    Gives: `input_features`, the configured feature columns (numeric ones as floats); a
    broken rule stops the run, listing every problem.
    """
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
    """Score the input with the production model.

    Takes: the production version's classifier, the validated features and the input as
    it was read.
    Gives: `predictions`, the input plus `predicted_label`, one `probability_<class>`
    column per class and the `model_version` that scored it.
    """
    version = get_step_context().model  # the run config pins the production version
    return label_rows(model, features, original, str(version.number))


@step
def detect_drift(
    reference: pd.DataFrame,
    features: pd.DataFrame,
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> tuple[Annotated[dict[str, Any], "drift_report"], Annotated[HTMLString, "drift_view"]]:
    """Compare each feature of the input with the training data (steps/drift.py).

    Takes: `reference`, the production version's training split; the validated features;
    `alpha`, the false discovery rate of the Benjamini-Hochberg correction; `min_rows`,
    the fewest input rows that get a verdict.
    Gives: `drift_report`, per feature the test (KS or chi-square), statistic, p-value,
    adjusted p-value and typical values, plus the verdict ("too few rows" below
    `min_rows`); `drift_view`, the same as an HTML table for the dashboard.
    """
    report = drift_report(reference, features, list(features.columns), alpha, min_rows)
    log_metadata({"drift": report})  # on the run, beside the artifact
    view = HTMLString(drift_html(report))
    return report, view
