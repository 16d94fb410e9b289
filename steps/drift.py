"""Has the input moved away from the data the model was trained on? One test per feature.

A two-sample Kolmogorov-Smirnov test compares each feature's distribution in the new input
with the training split's. A small p-value means the two are unlikely to come from the same
distribution; a handful of rows rarely gives one, which is why the row count is reported.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp


def _numeric_drift(reference: pd.Series, current: pd.Series) -> dict[str, Any]:
    result = ks_2samp(reference.dropna(), current.dropna())
    return {
        "test": "KS",
        "statistic": round(float(result.statistic), 4),
        "p_value": float(result.pvalue),
        "reference_mean": round(float(reference.mean()), 4),
        "input_mean": round(float(current.mean()), 4),
    }


def _categorical_drift(reference: pd.Series, current: pd.Series) -> dict[str, Any]:
    """A chi-square test of the category counts (missing values as a category of their own)."""
    counts = (
        pd.concat(
            {"reference": reference.fillna("<missing>"), "input": current.fillna("<missing>")}
        )
        .groupby(level=0)
        .value_counts()
        .unstack(fill_value=0)
    )
    if counts.shape[1] < 2:
        p_value, statistic = 1.0, 0.0  # one category on both sides: nothing moved
    else:
        statistic, p_value, _, _ = chi2_contingency(counts.to_numpy())
    return {
        "test": "chi-square",
        "statistic": round(float(statistic), 4),
        "p_value": float(p_value),
        "reference_mean": _most_frequent(reference),
        "input_mean": _most_frequent(current),
    }


def _most_frequent(series: pd.Series) -> str:
    return str(series.mode().iloc[0]) if series.notna().any() else "-"


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], p_value_threshold: float
) -> dict[str, Any]:
    """Per feature: the test's statistic and p-value, the typical value on each side (the
    mean, or the most frequent category) and a drift flag; plus the overall verdict."""
    per_feature = {}
    for name in features:
        numeric = pd.api.types.is_numeric_dtype(current[name])
        test = _numeric_drift if numeric else _categorical_drift
        row = test(reference[name], current[name])
        row["drifted"] = bool(row["p_value"] < p_value_threshold)
        per_feature[name] = row
    drifted = [name for name, row in per_feature.items() if row["drifted"]]
    return {
        "drift": bool(drifted),
        "drifted_features": drifted,
        "p_value_threshold": p_value_threshold,
        "reference_rows": len(reference),
        "input_rows": len(current),
        "features": per_feature,
    }


def _shown(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def drift_html(report: dict[str, Any]) -> str:
    """The report as a table for the dashboard."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{row['test']} {row['statistic']:.3f}</td>"
        f"<td>{row['p_value']:.2g}</td><td>{html.escape(_shown(row['reference_mean']))}</td>"
        f"<td>{html.escape(_shown(row['input_mean']))}</td>"
        f"<td>{'DRIFT' if row['drifted'] else 'ok'}</td></tr>"
        for name, row in report["features"].items()
    )
    verdict = (
        f"Drift in {', '.join(map(html.escape, report['drifted_features']))}"
        if report["drift"]
        else "No drift detected"
    )
    return (
        f"<h3>{verdict}</h3><p>{report['input_rows']} input rows against "
        f"{report['reference_rows']} training rows; a feature drifts when its test's "
        f"p-value (KS for numbers, chi-square for categories) is below "
        f"{report['p_value_threshold']}.</p>"
        "<table border='1' cellpadding='4'><tr><th>feature</th><th>statistic</th>"
        "<th>p-value</th><th>training mean or mode</th><th>input mean or mode</th>"
        "<th>verdict</th></tr>"
        f"{rows}</table>"
    )
