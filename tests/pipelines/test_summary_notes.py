"""The run summary's one-line data-quality note."""

from __future__ import annotations

from pipelines.run_report import format_summary


def summary(**extra):
    return {
        "run": "training-1",
        "data_md5": "abc",
        "selection": {
            "chosen": {
                "name": "knn",
                "best_params": {},
                "cv_metric": "accuracy",
                "cv_score": 0.9,
                "cv_std": 0.01,
            }
        },
        "metrics": {
            "accuracy": 0.9,
            "balanced_accuracy": 0.9,
            "macro_f1": 0.9,
            "roc_auc": None,
            "classes": ["a", "b"],
            "per_class": {"a": {"support": 5}, "b": {"support": 5}},
        },
        "promotion": {"promote": False, "reason": "a test"},
        "model_version": "1",
        "production_version": None,
        **extra,
    }


def test_duplicates_are_one_line_after_the_data():
    lines = format_summary(summary(duplicate_rows=3)).splitlines()
    assert lines[2].startswith("Data note      3 duplicate rows (kept;")
    assert lines[1].startswith("Data md5")
    assert format_summary(summary(duplicate_rows=1)).count("1 duplicate row (kept;") == 1


def test_no_note_without_duplicates():
    assert "Data note" not in format_summary(summary(duplicate_rows=0))
    assert "Data note" not in format_summary(summary())
