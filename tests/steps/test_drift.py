"""The per-feature drift check: KS or chi-square per feature, Benjamini-Hochberg over all of
them, and no verdict below the minimum sample size."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steps.drift import drift_html, drift_report
from tests.tabular_data import CHURN_FEATURES, churn_rows

FEATURES = list(CHURN_FEATURES)


def frames(shift: float, rows: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    generator = np.random.default_rng(0)
    reference = pd.DataFrame({"a": generator.normal(5, 1, 500), "b": generator.normal(1, 0.2, 500)})
    current = pd.DataFrame(
        {"a": generator.normal(5, 1, rows) + shift, "b": generator.normal(1, 0.2, rows)}
    )
    return reference, current


def churn_frame(rows: int, seed: int) -> pd.DataFrame:
    """The churn table as validation leaves it: numbers as floats (missing: NaN), text."""
    frame = pd.DataFrame(churn_rows(rows, seed), columns=["id", *FEATURES, "churned"])
    for name in ("monthly_spend", "tenure_months"):
        frame[name] = pd.to_numeric(frame[name].replace("", np.nan))
    return frame


def test_a_shifted_feature_is_flagged_and_only_it():
    report = drift_report(*frames(shift=1.0), ["a", "b"], alpha=0.05)
    assert report["drift"] is True
    assert report["drifted_features"] == ["a"]
    assert report["features"]["a"]["input_mean"] > report["features"]["a"]["reference_mean"] + 0.5
    assert report["features"]["a"]["adjusted_p_value"] <= 0.05
    assert "Drift in a" in drift_html(report)


def test_the_same_distribution_is_not_flagged():
    report = drift_report(*frames(shift=0.0), ["a", "b"])
    assert report["tested"] is True and report["drift"] is False
    assert report["drifted_features"] == []
    assert report["input_rows"] == 200 and report["reference_rows"] == 500
    assert "No drift detected" in drift_html(report)


def test_the_false_alarm_rate_is_honest_over_seeds(report):
    """Traffic drawn from the training distribution: over 40 samples, the share of runs
    that flag any of the four features stays near the configured FDR (which, when nothing
    moved, is the chance of any flag). Uncorrected tests at 0.05 would flag about 19 %."""
    reference = churn_frame(1200, seed=0)
    flagged = [
        bool(drift_report(reference, churn_frame(200, seed), FEATURES, alpha=0.05)["drift"])
        for seed in range(1, 41)
    ]
    rate = sum(flagged) / len(flagged)
    report(f"drift false-alarm rate (BH, FDR 0.05, 4 features, 200 rows): {rate:.3f} of 40 runs")
    assert rate <= 0.05 + 0.075  # binomial slack: P(more than 5 of 40 | 0.05) < 1.4 %


def test_a_moved_number_and_a_vanished_category_are_named():
    reference = churn_frame(1200, seed=0)
    current = churn_frame(400, seed=7)
    spend = reference["monthly_spend"]
    current["monthly_spend"] = current["monthly_spend"] + 1.5 * spend.std()
    current["plan"] = current["plan"].replace("enterprise", "basic")  # enterprise vanished
    report = drift_report(reference, current, FEATURES, alpha=0.05)
    assert report["drifted_features"] == ["plan", "monthly_spend"]
    assert report["features"]["plan"]["vanished"] == ["enterprise"]
    assert "enterprise" in drift_html(report)


def test_below_the_minimum_sample_size_there_is_no_verdict():
    reference, current = frames(shift=3.0, rows=30)
    report = drift_report(reference, current, ["a", "b"], min_rows=50)
    assert report["tested"] is False and report["drift"] is False
    assert report["verdict"] == "too few rows (30 < 50) to test drift"
    assert "Too few rows (30 &lt; 50)" in drift_html(report)
