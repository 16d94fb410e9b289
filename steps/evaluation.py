"""Score the chosen model on the held-out test split and draw its confusion matrix."""

from __future__ import annotations

import html
import io
from typing import Annotated, Any

import pandas as pd
from PIL import Image
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step
from zenml.types import HTMLString

from service.contract import predicted_labels
from steps.config_models import DatasetSpec
from steps.figures import inline_png, png_bytes


def roc_auc(probabilities, classes: list[str], truth: pd.Series) -> float | None:
    """ROC AUC from the class probabilities (one-vs-rest, macro, for more than two classes);
    None when the test split lacks a class, where it is undefined."""
    if truth.nunique() < len(classes):
        return None
    if len(classes) == 2:
        return float(roc_auc_score(truth, probabilities[:, 1]))
    return float(roc_auc_score(truth, probabilities, multi_class="ovr", labels=classes))


def compute_metrics(model: Pipeline, test: pd.DataFrame, dataset: DatasetSpec) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro-F1, ROC AUC, per-class precision/recall and the
    confusion matrix (rows = truth): what the gate, the summary and the report read."""
    truth = test[dataset.target]
    # One pass over the test rows, labelled by the service's own rule (service/contract.py):
    # the numbers describe what is served, and k-NN's costly predictions are made once.
    classes = [str(label) for label in model.classes_]
    probs = model.predict_proba(test[dataset.feature_names])
    predicted, _ = predicted_labels(probs, classes)
    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=dataset.classes, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=dataset.classes, average="macro", zero_division=0)
        ),
        "roc_auc": roc_auc(probs, classes, truth),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "support": int(n)}
            for label, p, r, n in zip(dataset.classes, precision, recall, support, strict=True)
        },
        "classes": list(dataset.classes),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=dataset.classes).tolist(),
        "test_rows": len(test),
    }


def metric_value(metrics: dict[str, Any], name: str) -> float:
    """One metric of `compute_metrics`' result by its config name (`recall:<class>` too)."""
    kind, _, label = name.partition(":")
    value = metrics["per_class"][label][kind] if label else metrics[kind]
    if value is None:
        raise ValueError(f"{name} is undefined on this test split (a class has no rows)")
    return float(value)


def confusion_matrix_png(matrix: list[list[int]], classes: list[str]) -> bytes:
    """A labelled heat map of the confusion matrix as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(4.5, 4), dpi=100)
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > peak / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=colour)
    axes.set_title("Confusion matrix (test split)")
    figure.tight_layout()
    return png_bytes(figure)


# The dashboard shows an HTML artifact in a sandboxed iframe 384 px high (Tailwind's h-96)
# and, at a 1280 x 800 window, about 750 px wide: the table sits beside the image, and the
# image takes the frame's height, so the report fits without scrolling.
REPORT_STYLE = (
    "html,body{margin:0}"
    "body{box-sizing:border-box;height:100vh;padding:12px;display:flex;gap:24px;"
    "align-items:flex-start;font:14px/1.4 system-ui,sans-serif;color:#1f2937}"
    "h3{margin:0 0 12px;font-size:16px}"
    "table{border-collapse:collapse}"
    "th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "img{height:100%;min-width:0;max-width:60%;object-fit:contain}"
)


def auc_line(metrics: dict[str, Any], before: str) -> str:
    return "" if metrics.get("roc_auc") is None else f"{before}ROC AUC {metrics['roc_auc']:.3f}"


def evaluation_html(metrics: dict[str, Any], png: bytes) -> str:
    """One frame for the dashboard: headline metrics and per-class table beside the matrix."""
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{m['precision']:.3f}</td>"
        f"<td>{m['recall']:.3f}</td><td>{m['support']}</td></tr>"
        for label, m in metrics["per_class"].items()
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{REPORT_STYLE}</style>"
        f"</head><body><div><h3>Test accuracy {metrics['accuracy']:.3f}<br>"
        f"balanced accuracy {metrics['balanced_accuracy']:.3f}<br>"
        f"macro-F1 {metrics['macro_f1']:.3f}{auc_line(metrics, '<br>')}</h3>"
        f"<table><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr>"
        f"{rows}</table></div>"
        f"{inline_png(png, 'confusion matrix')}</body></html>"
    )


@step
def evaluate_model(
    model: Pipeline, test: pd.DataFrame, dataset: DatasetSpec
) -> tuple[
    Annotated[dict, "test_metrics"],
    Annotated[Image.Image, "confusion_matrix_png"],
    Annotated[HTMLString, "evaluation_report"],
]:
    """Score the chosen model on the held-out test split.

    Takes: the chosen model, the test split and the dataset spec.
    Gives: `test_metrics` (accuracy, balanced accuracy, macro-F1, ROC AUC, per class
    precision and recall, confusion matrix);
    `confusion_matrix_png`, a PIL image, so that ZenML's Pillow materializer stores a PNG
    and the dashboard shows it as an image (raw bytes showed as text that failed to load);
    `evaluation_report`, HTML sized for the dashboard's frame.
    """
    metrics = compute_metrics(model, test, dataset)
    png = confusion_matrix_png(metrics["confusion_matrix"], dataset.classes)
    log_metadata(
        {
            key: metrics[key]
            for key in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
            if metrics[key] is not None
        }
    )
    return metrics, Image.open(io.BytesIO(png)), HTMLString(evaluation_html(metrics, png))
