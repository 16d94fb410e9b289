"""The monitoring pipeline's step: a thin wrapper over steps/monitoring.py."""

from __future__ import annotations

import io
from typing import Annotated, Any

import pandas as pd
from PIL import Image
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from service.contract import predicted_labels
from steps.monitoring import compare_with_training, report_html, report_png


@step(enable_cache=False)
def compare_traffic(
    reference: pd.DataFrame,
    traffic: pd.DataFrame,
    feedback: pd.DataFrame,
    classifier: Pipeline,
    dataset: dict[str, Any],
    settings: dict[str, Any],
    window: str,
    skipped_lines: int = 0,
) -> tuple[
    Annotated[dict[str, Any], "monitoring_report"],
    Annotated[Image.Image, "monitoring_png"],
    Annotated[HTMLString, "monitoring_view"],
]:
    """Compare the logged traffic with the production version's training data.

    Takes: `reference`, the production version's training split; `traffic` and
    `feedback`, the inference log as frames (steps/monitoring.py); the production
    classifier and dataset spec (as a dict); `settings`, configs/monitoring.yaml as a dict;
    `window`, which rows were read, and `skipped_lines`, unreadable log lines (both shown).
    Gives: `monitoring_report` (drift per feature, class shift, live metrics per version,
    the decision), `monitoring_png` (per-feature plots) and `monitoring_view` (the HTML
    page the dashboard shows; reports/ gets the same).
    """
    version = get_step_context().model  # the run config pins the production version
    features = list(dataset["features"])
    classes = [str(label) for label in classifier.classes_]
    labels, _ = predicted_labels(classifier.predict_proba(reference[features]), classes)
    report = compare_with_training(
        reference,
        traffic,
        feedback,
        pd.Series(labels),
        dataset,
        str(version.number),
        settings,
        version.run_metadata.get("test_accuracy"),
    )
    report.update(model=version.name, window=window, skipped_lines=skipped_lines)
    log_metadata({"monitoring": {"decision": report["decision"], "traffic_rows": len(traffic)}})
    png = report_png(report, reference, traffic)
    return report, Image.open(io.BytesIO(png)), HTMLString(report_html(report, png))
