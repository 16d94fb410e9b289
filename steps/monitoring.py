"""Does production traffic still look like the training data, and how does the model do on
it? The plain functions behind `python run.py monitor` (no ZenML import: the client reads
the log with them before any run starts).

The inference log (service/inference_log.py) becomes two frames: `traffic`, one row per
predicted row (log columns prefixed `log.`, then the raw features), and `feedback`, the
latest true label per (request id, row). From them and the production version's training
split: drift per feature (steps/drift.py, the same method as batch inference), the shift of
the predicted classes, live accuracy and macro-F1 per model version, and the decision.

The class shift compares like with like: the production model's predictions on its own
training split against its predictions in the log (only the rows it served), by a
chi-square test of the class counts. A model that favours a class does so on both sides,
so only a change in what it is asked moves the test.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from sklearn.metrics import accuracy_score, f1_score

from steps.drift import describe_feature, drift_report, drift_table, is_numeric, method_line
from steps.figures import inline_png, png_bytes

LOG = "log."  # the prefix of the log's own columns in the traffic frame
LOG_COLUMNS = ("request_id", "row", "time", "model", "model_version", "label")
TRUE_LABEL = f"{LOG}true_label"


# --- the log as frames --------------------------------------------------------------------


def traffic_frame(rows: list[dict[str, Any]], features: list[str]) -> pd.DataFrame:
    """One row per logged prediction row: `log.<field>` columns, then the features (a
    feature the row lacks is missing)."""
    meta = pd.DataFrame({f"{LOG}{name}": [row.get(name) for row in rows] for name in LOG_COLUMNS})
    values = pd.DataFrame({name: [row["features"].get(name) for row in rows] for name in features})
    frame = pd.concat([meta, values], axis=1)
    frame[f"{LOG}model_version"] = frame[f"{LOG}model_version"].astype(str)
    frame[f"{LOG}row"] = frame[f"{LOG}row"].astype(int)
    return frame


def feedback_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The true labels: for each (request id, row), the latest feedback wins."""
    frame = pd.DataFrame(
        {
            "request_id": [str(row["feedback_for"]) for row in rows],
            "row": [int(row["row"]) for row in rows],
            "time": [str(row["time"]) for row in rows],
            "label": [str(row["label"]) for row in rows],
        }
    )
    latest = frame.sort_values("time", kind="stable").drop_duplicates(
        ["request_id", "row"], keep="last"
    )
    return latest.reset_index(drop=True)


def join_feedback(traffic: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """The traffic with `log.true_label` (missing where no feedback came)."""
    labels = feedback.rename(
        columns={"request_id": f"{LOG}request_id", "row": f"{LOG}row", "label": TRUE_LABEL}
    )[[f"{LOG}request_id", f"{LOG}row", TRUE_LABEL]]
    return traffic.merge(labels, on=[f"{LOG}request_id", f"{LOG}row"], how="left")


# --- the measures -------------------------------------------------------------------------


def live_metrics(joined: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per model version: rows served, rows with feedback, and on those accuracy and
    macro-F1 (scikit-learn's, over the labels that occur in either column)."""
    result = {}
    for version, rows in joined.groupby(f"{LOG}model_version", sort=True):
        judged = rows[rows[TRUE_LABEL].notna()]
        entry: dict[str, Any] = {
            "rows": len(rows),
            "feedback_rows": len(judged),
            "accuracy": None,
            "macro_f1": None,
        }
        if len(judged):
            truth, predicted = judged[TRUE_LABEL].astype(str), judged[f"{LOG}label"].astype(str)
            entry["accuracy"] = float(accuracy_score(truth, predicted))
            entry["macro_f1"] = float(f1_score(truth, predicted, average="macro"))
        result[str(version)] = entry
    return result


def class_shift(
    reference_predicted: pd.Series,
    traffic_predicted: pd.Series,
    classes: list[str],
    alpha: float,
    min_rows: int,
) -> dict[str, Any]:
    """Chi-square of the predicted class counts: on the training split against the log."""
    counts = pd.DataFrame(
        {
            "reference": reference_predicted.astype(str).value_counts(),
            "traffic": traffic_predicted.astype(str).value_counts(),
        }
    ).reindex(classes, fill_value=0)
    counts = counts.fillna(0).astype(int)
    shares = {
        side: {label: float(v) for label, v in (counts[side] / max(counts[side].sum(), 1)).items()}
        for side in ("reference", "traffic")
    }
    result: dict[str, Any] = {
        "rows": int(counts["traffic"].sum()),
        "reference_share": shares["reference"],
        "traffic_share": shares["traffic"],
        "alpha": alpha,
        "statistic": None,
        "p_value": None,
        "shifted": False,
    }
    if result["rows"] < min_rows:
        result["verdict"] = f"too few rows ({result['rows']} < {min_rows}) to test a class shift"
        return result
    seen = counts[(counts["reference"] + counts["traffic"]) > 0]
    if len(seen) < 2:
        result.update(statistic=0.0, p_value=1.0, verdict="one class on both sides")
        return result
    statistic, p_value, _, _ = chi2_contingency(seen.T.to_numpy())
    shifted = bool(p_value < alpha)
    result.update(
        statistic=float(statistic),
        p_value=float(p_value),
        shifted=shifted,
        verdict="predicted classes shifted" if shifted else "no class shift",
    )
    return result


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reasons: list[str] = field(default_factory=list)


def decide(report: dict[str, Any], thresholds: dict[str, Any]) -> Decision:
    """Retrain when any configured reason holds (configs/monitoring.yaml, `retrain_when`)."""
    reasons = []
    drift = report["drift"]
    needed = thresholds.get("drifted_features")
    if needed is not None and drift["tested"] and len(drift["drifted_features"]) >= needed:
        reasons.append(
            f"{len(drift['drifted_features'])} feature(s) drifted: "
            + ", ".join(drift["drifted_features"])
        )
    shift = report["class_shift"]
    if thresholds.get("class_shift") and shift["shifted"]:
        reasons.append(
            f"the predicted classes shifted (chi-square p={shift['p_value']:.1g} < "
            f"{shift['alpha']}): " + shares_text(shift)
        )
    live = report["live"].get(str(report["production_version"]))
    if live is not None and live["feedback_rows"] >= thresholds["min_feedback_rows"]:
        reasons += accuracy_reasons(live, thresholds, report.get("production_test_accuracy"))
    return Decision(retrain=bool(reasons), reasons=reasons)


def accuracy_reasons(
    live: dict[str, Any], thresholds: dict[str, Any], test_accuracy: float | None
) -> list[str]:
    """Production's live accuracy under the configured floor, or too far under its own
    test accuracy (a floor that fits every dataset)."""
    accuracy, rows = live["accuracy"], live["feedback_rows"]
    on = f"on {rows} rows with feedback"
    reasons = []
    floor = thresholds.get("accuracy_below")
    if floor is not None and accuracy < floor:
        reasons.append(f"production's live accuracy is {accuracy:.3f} < {floor} {on}")
    drop = thresholds.get("accuracy_drop")
    if drop is not None and test_accuracy is not None and accuracy < test_accuracy - drop:
        reasons.append(
            f"production's live accuracy is {accuracy:.3f}, more than {drop} under its test "
            f"accuracy {test_accuracy:.3f}, {on}"
        )
    return reasons


def shares_text(shift: dict[str, Any]) -> str:
    return ", ".join(
        f"{label} {shift['reference_share'][label]:.0%} -> {shift['traffic_share'][label]:.0%}"
        for label in shift["reference_share"]
    )


def compare_with_training(
    reference: pd.DataFrame,
    traffic: pd.DataFrame,
    feedback: pd.DataFrame,
    reference_predicted: pd.Series,
    dataset: dict[str, Any],
    production_version: str,
    settings: dict[str, Any],
    production_test_accuracy: float | None = None,
) -> dict[str, Any]:
    """The whole comparison as one report (a dict of plain values), decision included.

    `reference` is the production version's training split; `reference_predicted`, the
    production model's labels for it; `dataset`, its dataset spec (as a dict);
    `settings`, configs/monitoring.yaml as a dict (MonitoringConfig);
    `production_test_accuracy`, the version's accuracy on its test split.
    """
    features = list(dataset["features"])
    alpha, min_rows = settings["drift"]["alpha"], settings["min_rows"]
    joined = join_feedback(traffic, feedback)
    served = joined[joined[f"{LOG}model_version"] == str(production_version)]
    report: dict[str, Any] = {
        "production_version": str(production_version),
        "production_test_accuracy": production_test_accuracy,
        "traffic_rows": len(traffic),
        "feedback_rows": int(joined[TRUE_LABEL].notna().sum()),
        "drift": drift_report(reference, traffic, features, alpha, min_rows),
        "class_shift": class_shift(
            reference_predicted, served[f"{LOG}label"], dataset["classes"], alpha, min_rows
        ),
        "live": live_metrics(joined),
    }
    decision = decide(report, settings["retrain_when"])
    report["decision"] = {"retrain": decision.retrain, "reasons": decision.reasons}
    return report


# --- what a person reads ------------------------------------------------------------------


def verdict_line(report: dict[str, Any]) -> str:
    decision = report["decision"]
    if decision["retrain"]:
        return "retraining recommended because " + "; ".join(decision["reasons"])
    return "no action"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The terminal summary: window, drift (one line per drifted feature), class shift,
    live metrics, and the verdict last."""
    drift, shift = report["drift"], report["class_shift"]
    lines = [
        f"Traffic        {report['traffic_rows']} rows ({report.get('window', '')}), "
        f"{report['feedback_rows']} with feedback"
        + (
            f"; {report['skipped_lines']} unreadable lines skipped"
            if report.get("skipped_lines")
            else ""
        ),
        f"Drift          {drift.get('verdict', '')} ({method_line(drift)})",
        *(
            f"  DRIFT        {describe_feature(name, drift['features'][name])}"
            for name in drift["drifted_features"]
        ),
        f"Classes        {shift['verdict']}"
        + (
            f" (chi-square p={shift['p_value']:.2g}): {shares_text(shift)}"
            if shift["p_value"] is not None
            else ""
        ),
    ]
    for version, live in report["live"].items():
        production = " (production)" if version == report["production_version"] else ""
        if live["feedback_rows"]:
            lines.append(
                f"Live metrics   version {version}{production}: accuracy {live['accuracy']:.4f}, "
                f"macro-F1 {live['macro_f1']:.4f} on {live['feedback_rows']} of "
                f"{live['rows']} rows"
            )
        else:
            lines.append(
                f"Live metrics   version {version}{production}: no feedback yet "
                f"({live['rows']} rows)"
            )
    lines.append(verdict_line(report))
    return lines


def report_png(report: dict[str, Any], reference: pd.DataFrame, traffic: pd.DataFrame) -> bytes:
    """One panel per feature (training against traffic: histograms of numbers, shares of
    categories, with the adjusted p-value) and one of the predicted classes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    features = list(report["drift"]["features"])
    panels = len(features) + 1
    columns = min(3, panels)
    rows = -(-panels // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), dpi=90)
    axes = np.atleast_1d(axes).ravel()
    for axis, name in zip(axes, features, strict=False):
        row = report["drift"]["features"][name]
        if is_numeric(reference[name]):
            _histograms(axis, reference[name], traffic[name])
        else:
            _shares(
                axis,
                reference[name].astype(object).where(reference[name].notna(), "<missing>"),
                traffic[name].astype(object).where(traffic[name].notna(), "<missing>"),
            )
        adjusted = row["adjusted_p_value"]
        state = "DRIFT" if row["drifted"] else "ok" if adjusted is not None else "not tested"
        where = f"adj. p={adjusted:.2g}" if adjusted is not None else "too few values"
        axis.set_title(
            f"{name}: {state} ({where})",
            color="#b91c1c" if row["drifted"] else "black",
            fontsize=10,
        )
    shift = report["class_shift"]
    axis = axes[len(features)]
    labels = list(shift["reference_share"])
    positions = np.arange(len(labels))
    axis.bar(
        positions - 0.2,
        [shift["reference_share"][k] for k in labels],
        0.4,
        label="training (predicted)",
    )
    axis.bar(positions + 0.2, [shift["traffic_share"][k] for k in labels], 0.4, label="traffic")
    axis.set_xticks(positions, labels, rotation=30, ha="right")
    axis.set_title(
        f"predicted classes: {shift['verdict']}",
        fontsize=10,
        color="#b91c1c" if shift["shifted"] else "black",
    )
    axis.legend(fontsize=8)
    for axis in axes[panels:]:
        axis.axis("off")
    figure.tight_layout()
    return png_bytes(figure)


def _histograms(axis, reference: pd.Series, current: pd.Series) -> None:
    left = pd.to_numeric(reference, errors="coerce").dropna()
    right = pd.to_numeric(current, errors="coerce").dropna()
    both = pd.concat([left, right])
    if both.empty:
        return
    bins = np.histogram_bin_edges(both, bins=20)
    axis.hist(left, bins=bins, density=True, alpha=0.5, label="training")
    axis.hist(right, bins=bins, density=True, alpha=0.5, label="traffic")
    axis.legend(fontsize=8)


def _shares(axis, reference: pd.Series, current: pd.Series) -> None:
    left = reference.astype(str).value_counts(normalize=True)
    right = current.astype(str).value_counts(normalize=True)
    labels = sorted(set(left.index) | set(right.index))
    positions = np.arange(len(labels))
    axis.bar(positions - 0.2, [left.get(k, 0) for k in labels], 0.4, label="training")
    axis.bar(positions + 0.2, [right.get(k, 0) for k in labels], 0.4, label="traffic")
    axis.set_xticks(positions, labels, rotation=30, ha="right")
    axis.legend(fontsize=8)


STYLE = (
    "body{margin:0;padding:12px;font:14px/1.4 system-ui,sans-serif;color:#1f2937}"
    "h2,h3{margin:12px 0 8px}table{border-collapse:collapse;margin-bottom:12px}"
    "th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{max-width:100%}"
    ".retrain{color:#b91c1c}"
)


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report_html(report: dict[str, Any], png: bytes) -> str:
    """The report as one page (the PNG inlined): reports/ and the dashboard show it."""
    decision = report["decision"]
    verdict = html.escape(verdict_line(report))
    drift, shift = report["drift"], report["class_shift"]
    live_rows = "".join(
        f"<tr><td>{html.escape(version)}"
        f"{' (production)' if version == report['production_version'] else ''}</td>"
        f"<td>{live['rows']}</td><td>{live['feedback_rows']}</td>"
        f"<td>{_number(live['accuracy'])}</td><td>{_number(live['macro_f1'])}</td></tr>"
        for version, live in report["live"].items()
    )
    class_rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{shift['reference_share'][label]:.1%}</td>"
        f"<td>{shift['traffic_share'][label]:.1%}</td></tr>"
        for label in shift["reference_share"]
    )
    drift_body = drift_table(drift) if drift["tested"] else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Monitoring "
        f"{html.escape(str(report.get('model', '')))}</title><style>{STYLE}</style></head><body>"
        f"<h2 class='{'retrain' if decision['retrain'] else ''}'>{verdict}</h2>"
        f"<p>Model {html.escape(str(report.get('model', '')))}, production version "
        f"{html.escape(report['production_version'])}; {report['traffic_rows']} logged rows "
        f"({html.escape(str(report.get('window', '')))}), {report['feedback_rows']} with "
        f"feedback, {report.get('skipped_lines', 0)} unreadable lines skipped.</p>"
        f"<h3>Drift: {html.escape(drift.get('verdict', ''))}</h3>"
        f"<p>{html.escape(method_line(drift))}; training split of {drift['reference_rows']} "
        f"rows.</p>{drift_body}"
        f"<h3>Predicted classes: {html.escape(shift['verdict'])}"
        + (f" (chi-square p={shift['p_value']:.2g})" if shift["p_value"] is not None else "")
        + "</h3><table><tr><th>class</th><th>training (production's predictions)</th>"
        f"<th>traffic</th></tr>{class_rows}</table>"
        "<h3>Live metrics (rows with feedback)</h3><table><tr><th>model version</th>"
        "<th>rows</th><th>with feedback</th><th>accuracy</th><th>macro-F1</th></tr>"
        f"{live_rows}</table>"
        f"{inline_png(png, 'training against traffic, per feature')}</body></html>"
    )
