"""The per-feature drift check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steps.drift import drift_html, drift_report


def frames(shift: float, rows: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    generator = np.random.default_rng(0)
    reference = pd.DataFrame({"a": generator.normal(5, 1, 500), "b": generator.normal(1, 0.2, 500)})
    current = pd.DataFrame(
        {"a": generator.normal(5, 1, rows) + shift, "b": generator.normal(1, 0.2, rows)}
    )
    return reference, current


def test_a_shifted_feature_is_flagged_and_only_it():
    report = drift_report(*frames(shift=1.0), ["a", "b"], p_value_threshold=0.01)
    assert report["drift"] is True
    assert report["drifted_features"] == ["a"]
    assert report["features"]["a"]["input_mean"] > report["features"]["a"]["reference_mean"] + 0.5
    assert "Drift in a" in drift_html(report)


def test_the_same_distribution_is_not_flagged():
    report = drift_report(*frames(shift=0.0), ["a", "b"], p_value_threshold=0.01)
    assert report["drift"] is False
    assert report["drifted_features"] == []
    assert report["input_rows"] == 200 and report["reference_rows"] == 500
    assert "No drift detected" in drift_html(report)
