"""Has the input moved away from the data the model was trained on? One test per feature.

A two-sample Kolmogorov-Smirnov test compares each feature's distribution in the new input
with the training split's. A small p-value means the two are unlikely to come from the same
distribution; a handful of rows rarely gives one, which is why the row count is reported.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from scipy.stats import ks_2samp


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], p_value_threshold: float
) -> dict[str, Any]:
    """Per feature: KS statistic, p-value, means and a drift flag; plus the overall verdict."""
    per_feature = {}
    for name in features:
        result = ks_2samp(reference[name], current[name])
        per_feature[name] = {
            "ks_statistic": round(float(result.statistic), 4),
            "p_value": float(result.pvalue),
            "reference_mean": round(float(reference[name].mean()), 4),
            "input_mean": round(float(current[name].mean()), 4),
            "drifted": bool(result.pvalue < p_value_threshold),
        }
    drifted = [name for name, row in per_feature.items() if row["drifted"]]
    return {
        "drift": bool(drifted),
        "drifted_features": drifted,
        "p_value_threshold": p_value_threshold,
        "reference_rows": len(reference),
        "input_rows": len(current),
        "features": per_feature,
    }


def drift_html(report: dict[str, Any]) -> str:
    """The report as a table for the dashboard."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{row['ks_statistic']:.3f}</td>"
        f"<td>{row['p_value']:.2g}</td><td>{row['reference_mean']:.3f}</td>"
        f"<td>{row['input_mean']:.3f}</td><td>{'DRIFT' if row['drifted'] else 'ok'}</td></tr>"
        for name, row in report["features"].items()
    )
    verdict = (
        f"Drift in {', '.join(map(html.escape, report['drifted_features']))}"
        if report["drift"]
        else "No drift detected"
    )
    return (
        f"<h3>{verdict}</h3><p>{report['input_rows']} input rows against "
        f"{report['reference_rows']} training rows; a feature drifts when the KS test's "
        f"p-value is below {report['p_value_threshold']}.</p>"
        "<table border='1' cellpadding='4'><tr><th>feature</th><th>KS statistic</th>"
        "<th>p-value</th><th>training mean</th><th>input mean</th><th>verdict</th></tr>"
        f"{rows}</table>"
    )
