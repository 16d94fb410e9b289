"""Has the input moved away from the data the model was trained on? One test per feature,
corrected for testing many.

Each numeric feature: a two-sample Kolmogorov-Smirnov test of the input against the
training split. Each categorical feature: a chi-square test of the category counts
(missing values as a category of their own), so a category the training data has and the
input lacks (one that vanished) counts as evidence, as does a new one. Testing 15
features at 1 % each flags one about 14 % of the time when nothing moved; the
Benjamini-Hochberg procedure keeps the expected share of false flags among the flagged
features at `alpha`, and when nothing moved at all, the chance of any flag at `alpha`.
Below `min_rows` input rows there is no verdict: a small sample rarely shows a shift, so
"no drift" would be a guess.

scipy holds every test (and `false_discovery_control`), so no drift library is needed:
Evidently (ZenML's integration) would add a large dependency tree to the lock for the
same tests, and its report API is in flux across 0.x releases (docs/monitoring.md).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, false_discovery_control, ks_2samp

DEFAULT_ALPHA = 0.05  # the false discovery rate
DEFAULT_MIN_ROWS = 50  # batch files; configs/monitoring.yaml sets its own
MISSING = "<missing>"


def _numeric_drift(reference: pd.Series, current: pd.Series, min_rows: int) -> dict[str, Any]:
    reference_values = pd.to_numeric(reference, errors="coerce").dropna()
    current_values = pd.to_numeric(current, errors="coerce").dropna()
    row: dict[str, Any] = {
        "test": "KS",
        "reference_mean": round(float(reference_values.mean()), 4),
        "input_mean": round(float(current_values.mean()), 4) if len(current_values) else None,
        "values": len(current_values),
    }
    if len(current_values) < min_rows or not len(reference_values):
        return {**row, "statistic": None, "p_value": None}  # too few values to test
    result = ks_2samp(reference_values, current_values)
    return {**row, "statistic": round(float(result.statistic), 4), "p_value": float(result.pvalue)}


def category_counts(reference: pd.Series, current: pd.Series) -> pd.DataFrame:
    """Two rows (reference, input), one column per category seen on either side."""
    return (
        pd.concat(
            {
                "reference": reference.astype(object).where(reference.notna(), MISSING),
                "input": current.astype(object).where(current.notna(), MISSING),
            }
        )
        .astype(str)
        .groupby(level=0)
        .value_counts()
        .unstack(fill_value=0)
        .reindex(["reference", "input"], fill_value=0)
    )


def _categorical_drift(reference: pd.Series, current: pd.Series, min_rows: int) -> dict[str, Any]:
    counts = category_counts(reference, current)
    row: dict[str, Any] = {
        "test": "chi-square",
        "reference_mean": _most_frequent(reference),
        "input_mean": _most_frequent(current),
        "values": len(current),
        "vanished": [str(c) for c in counts.columns if counts.at["input", c] == 0],
        "new": [str(c) for c in counts.columns if counts.at["reference", c] == 0],
    }
    if len(current) < min_rows:
        return {**row, "statistic": None, "p_value": None}
    if counts.shape[1] < 2:
        return {**row, "statistic": 0.0, "p_value": 1.0}  # one category on both sides
    statistic, p_value, _, _ = chi2_contingency(counts.to_numpy())
    return {**row, "statistic": round(float(statistic), 4), "p_value": float(p_value)}


def _most_frequent(series: pd.Series) -> str:
    return str(series.mode().iloc[0]) if series.notna().any() else "-"


def is_numeric(reference: pd.Series) -> bool:
    """The training data says what a feature is: validated numeric columns are floats."""
    return pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference)


def too_few_rows(rows: int, min_rows: int) -> str:
    return f"too few rows ({rows} < {min_rows}) to test drift"


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> dict[str, Any]:
    """Per feature: the test, its statistic, p-value and Benjamini-Hochberg adjusted p-value
    (a feature drifts when the adjusted one is at most `alpha`), the typical value on each
    side (mean, or most frequent category) and, for categories, those that vanished or are
    new; plus the verdict. Fewer than `min_rows` input rows: `tested` is False, no verdict."""
    report: dict[str, Any] = {
        "tested": len(current) >= min_rows,
        "drift": False,
        "drifted_features": [],
        "alpha": alpha,
        "correction": "Benjamini-Hochberg",
        "min_rows": min_rows,
        "reference_rows": len(reference),
        "input_rows": len(current),
        "features": {},
    }
    if not report["tested"]:
        report["verdict"] = too_few_rows(len(current), min_rows)
        return report
    per_feature = {}
    for name in features:
        test = _numeric_drift if is_numeric(reference[name]) else _categorical_drift
        per_feature[name] = test(reference[name], current[name], min_rows)
    tested = [name for name, row in per_feature.items() if row["p_value"] is not None]
    adjusted = (
        false_discovery_control(np.array([per_feature[name]["p_value"] for name in tested]))
        if tested
        else []
    )
    for row in per_feature.values():
        row.update(adjusted_p_value=None, drifted=False)
    for name, value in zip(tested, adjusted, strict=True):
        per_feature[name]["adjusted_p_value"] = float(value)
        per_feature[name]["drifted"] = bool(value <= alpha)
    drifted = [name for name, row in per_feature.items() if row["drifted"]]
    report.update(
        drift=bool(drifted),
        drifted_features=drifted,
        features=per_feature,
        verdict=f"drift in {', '.join(drifted)}" if drifted else "no drift detected",
    )
    return report


def describe_feature(name: str, row: dict[str, Any]) -> str:
    """`discount (KS 0.31, adjusted p=2e-05; mean 10.2 -> 13.1)`: one drifted feature."""
    change = f"{_shown(row['reference_mean'])} -> {_shown(row['input_mean'])}"
    typical = "mean" if row["test"] == "KS" else "most frequent"
    extra = ""
    if row.get("vanished"):
        extra += f"; vanished: {', '.join(row['vanished'])}"
    if row.get("new"):
        extra += f"; new: {', '.join(row['new'])}"
    return (
        f"{name} ({row['test']} {row['statistic']:.2f}, adjusted p={row['adjusted_p_value']:.1g}; "
        f"{typical} {change}{extra})"
    )


def method_line(report: dict[str, Any]) -> str:
    return (
        f"KS or chi-square per feature, Benjamini-Hochberg at FDR {report['alpha']}, "
        f"at least {report['min_rows']} rows"
    )


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def _feature_verdict(row: dict[str, Any]) -> str:
    if row["p_value"] is None:
        return "too few values"
    return "DRIFT" if row["drifted"] else "ok"


def drift_table(report: dict[str, Any]) -> str:
    """The per-feature table (HTML), shared by the batch view and the monitoring report."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{row['test']} "
        f"{_shown(row['statistic'])}</td><td>{_p(row['p_value'])}</td>"
        f"<td>{_p(row['adjusted_p_value'])}</td>"
        f"<td>{html.escape(_shown(row['reference_mean']))}</td>"
        f"<td>{html.escape(_shown(row['input_mean']))}</td>"
        f"<td>{html.escape(', '.join(row.get('vanished') or []) or '-')}</td>"
        f"<td>{_feature_verdict(row)}</td></tr>"
        for name, row in report["features"].items()
    )
    return (
        "<table border='1' cellpadding='4'><tr><th>feature</th><th>statistic</th>"
        "<th>p-value</th><th>adjusted p (BH)</th><th>training mean or mode</th>"
        "<th>input mean or mode</th><th>vanished categories</th><th>verdict</th></tr>"
        f"{rows}</table>"
    )


def drift_html(report: dict[str, Any]) -> str:
    """The report as a table for the dashboard."""
    if not report["tested"]:
        return f"<h3>{html.escape(report['verdict'].capitalize())}</h3>"
    verdict = (
        f"Drift in {', '.join(map(html.escape, report['drifted_features']))}"
        if report["drift"]
        else "No drift detected"
    )
    return (
        f"<h3>{verdict}</h3><p>{report['input_rows']} input rows against "
        f"{report['reference_rows']} training rows; {html.escape(method_line(report))}: a "
        f"feature drifts when its adjusted p-value is at most {report['alpha']}.</p>"
        + drift_table(report)
    )
