"""What a finished training run tells a person: a five-second summary and the files in reports/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _load(steps: dict[str, Any], step_name: str, output: str) -> Any:
    return steps[step_name].outputs[output][0].load()


def collect_summary(run: Any, model_name: str) -> dict[str, Any]:
    """The facts of a finished training run, read back from its artifacts and model version."""
    from pipelines.model_registry import production_version

    steps = run.steps  # one query: each `run.steps` lists the run's steps again
    production = production_version(model_name)
    return {
        "model_name": model_name,
        "run": run.name,
        "data_md5": steps["load_data"].config.parameters["data_md5"],
        "duplicate_rows": int(
            steps["validate_data"]
            .outputs["validated_data"][0]
            .run_metadata.get("duplicate_rows", 0)
        ),
        "selection": _load(steps, "select_model", "selection"),
        "metrics": _load(steps, "evaluate_model", "test_metrics"),
        "confusion_matrix_png": _load(steps, "evaluate_model", "confusion_matrix_png"),
        "promotion": _load(steps, "promote_model", "promotion"),
        "model_version": run.model_version.name if run.model_version else None,
        "production_version": production.name if production else None,
    }


def format_summary(summary: dict[str, Any]) -> str:
    chosen = summary["selection"]["chosen"]
    metrics = summary["metrics"]
    promotion = summary["promotion"]
    params = ", ".join(f"{k}={v}" for k, v in chosen["best_params"].items()) or "defaults"
    verdict = "PROMOTED to production" if promotion["promote"] else "not promoted"
    duplicates = summary.get("duplicate_rows", 0)
    data_notes = (
        [
            f"Data note      {duplicates} duplicate row{'s' if duplicates > 1 else ''} "
            "(kept; the validate_data step's log lists the lines)"
        ]
        if duplicates
        else []
    )
    return "\n".join(
        [
            f"Run            {summary['run']}",
            f"Data md5       {summary['data_md5']}",
            *data_notes,
            f"Chosen model   {chosen['name']} ({params})",
            f"{'CV ' + chosen['cv_metric']:<14} {chosen['cv_score']:.4f} ± {chosen['cv_std']:.4f}"
            + cv_sample_note(chosen),
            "Test metrics   " + test_metrics_line(metrics),
            *per_class_lines(metrics),
            f"Model version  {summary['model_version']}: {verdict}",
            f"               because {promotion['reason']}",
            f"Production now version {summary['production_version'] or 'none'}",
        ]
        + (
            [
                f"Serving        version {export.version}: BentoML model {export.tag} "
                f"({summary.get('serve_command', 'make serve')})"
            ]
            if (export := summary.get("export"))
            else []
        )
    )


def cv_sample_note(chosen: dict[str, Any]) -> str:
    rows, train_rows = chosen.get("cv_rows"), chosen.get("train_rows")
    return f" (searched on {rows:,} of the training rows)" if rows and rows != train_rows else ""


def test_metrics_line(metrics: dict[str, Any]) -> str:
    """Accuracy and macro-F1, with balanced accuracy and ROC AUC where they tell more (an
    imbalanced or binary label)."""
    parts = [f"accuracy {metrics['accuracy']:.4f}"]
    if abs(metrics.get("balanced_accuracy", metrics["accuracy"]) - metrics["accuracy"]) > 1e-9:
        parts.append(f"balanced accuracy {metrics['balanced_accuracy']:.4f}")
    parts.append(f"macro-F1 {metrics['macro_f1']:.4f}")
    if metrics.get("roc_auc") is not None and len(metrics["classes"]) == 2:
        parts.append(f"ROC AUC {metrics['roc_auc']:.4f}")
    return ", ".join(parts)


def per_class_lines(metrics: dict[str, Any]) -> list[str]:
    """Recall and precision per class when one class is much rarer than another: there a
    good accuracy can hide a class the model never finds."""
    supports = [scores["support"] for scores in metrics["per_class"].values()]
    if not supports or min(supports) * 2 > max(supports):
        return []
    return [
        f"  {label:<13}recall {scores['recall']:.4f}, precision {scores['precision']:.4f} "
        f"({scores['support']} test rows)"
        for label, scores in metrics["per_class"].items()
    ]


def write_reports(summary: dict[str, Any], folder: Path) -> None:
    """metrics.json (read by `dvc metrics show`) and confusion_matrix.png.

    Both are outputs of DVC's `train` stage, so they hold only what the data and code
    determine: no model version, promotion verdict, run name or time (those live in ZenML),
    or `dvc status` would call a fresh clone's identical training a change.
    """
    folder.mkdir(parents=True, exist_ok=True)
    metrics = summary["metrics"]
    chosen = summary["selection"]["chosen"]
    report = {
        "accuracy": metrics["accuracy"],
        "balanced_accuracy": metrics["balanced_accuracy"],
        "macro_f1": metrics["macro_f1"],
        "roc_auc": metrics["roc_auc"],
        "cv_metric": chosen["cv_metric"],
        "cv_score": chosen["cv_score"],
        "per_class": metrics["per_class"],
        "model": chosen["name"],
        "params": chosen["best_params"],
        "data_md5": summary["data_md5"],
    }
    (folder / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    summary["confusion_matrix_png"].save(folder / "confusion_matrix.png", format="PNG")


def collect_batch_summary(run: Any) -> dict[str, Any]:
    """What `python run.py predict --input` reports, from the batch run's artifacts."""
    steps = run.steps
    return {
        "run": run.name,
        "predictions": _load(steps, "predict", "predictions"),
        "drift": _load(steps, "detect_drift", "drift_report"),
    }


def write_predictions(summary: dict[str, Any], output: Path) -> None:
    """The batch predictions as CSV where the user asked for them, folders made as needed."""
    output.parent.mkdir(parents=True, exist_ok=True)
    summary["predictions"].to_csv(output, index=False)


def format_batch_summary(summary: dict[str, Any], output: Path) -> str:
    from steps.drift import describe_feature, method_line

    predictions, drift = summary["predictions"], summary["drift"]
    counts = predictions["predicted_label"].value_counts()
    if not drift.get("tested", True):
        verdict = drift["verdict"]
    elif drift["drift"]:
        verdict = "DRIFT in " + ", ".join(
            describe_feature(name, drift["features"][name]) for name in drift["drifted_features"]
        )
    else:
        verdict = "none detected"
    return "\n".join(
        [
            f"Run            {summary['run']}",
            f"Model version  {predictions['model_version'].iloc[0]} (production)",
            f"Predicted      {len(predictions)} rows: "
            + ", ".join(f"{label} {count}" for label, count in counts.items()),
            f"Written to     {output}",
            f"Drift          {verdict} ({method_line(drift)})",
        ]
    )


def serve_command_for(config_path: Path) -> str:
    """The command that serves this config's model, as the summary suggests it."""
    from pipelines.project_paths import DEFAULT_CONFIG, PROJECT_ROOT

    config = config_path.resolve()
    if config == DEFAULT_CONFIG:
        return "make serve"
    shown = config.relative_to(PROJECT_ROOT) if config.is_relative_to(PROJECT_ROOT) else config
    return f"make serve CONFIG={shown}"


def collect_monitoring_summary(run: Any) -> dict[str, Any]:
    """What `python run.py monitor` reports, from the monitoring run's artifacts."""
    steps = run.steps
    return {
        "run": run.name,
        "report": _load(steps, "compare_traffic", "monitoring_report"),
        "png": _load(steps, "compare_traffic", "monitoring_png"),
        "html": str(_load(steps, "compare_traffic", "monitoring_view")),
    }


def write_monitoring_reports(summary: dict[str, Any], folder: Path) -> Path:
    """reports/monitoring-<UTC time>.html and .png; the HTML's path."""
    from datetime import datetime, timezone

    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    page = folder / f"monitoring-{stamp}.html"
    page.write_text(summary["html"])
    summary["png"].save(page.with_suffix(".png"), format="PNG")
    return page


def format_monitoring_summary(summary: dict[str, Any], page: Path) -> str:
    """The verdict comes last: "retraining recommended because …" or "no action"."""
    from steps.monitoring import summary_lines

    report = summary["report"]
    *lines, verdict = summary_lines(report)
    return "\n".join(
        [
            f"Run            {summary['run']}",
            f"Model          {report['model']} version {report['production_version']} (production)",
            *lines,
            f"Report         {page} and {page.with_suffix('.png').name}; monitoring_view "
            "in the dashboard",
            verdict,
        ]
    )
