from __future__ import annotations

import pandas as pd
from sklearn.dummy import DummyClassifier

from steps.config_models import DatasetSpec, FeatureSpec
from steps.evaluation import compute_metrics, confusion_matrix_png, evaluation_html

SPEC = DatasetSpec(
    path="unused.csv",
    target="label",
    classes=["a", "b", "c"],
    features={"x": FeatureSpec(min=0, max=10)},
)


def test_metrics_of_a_constant_model():
    test = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "label": list("aabbcc")})
    model = DummyClassifier(strategy="constant", constant="a").fit(test[["x"]], test["label"])
    metrics = compute_metrics(model, test, SPEC)
    assert metrics["accuracy"] == 1 / 3
    assert metrics["confusion_matrix"] == [[2, 0, 0], [2, 0, 0], [2, 0, 0]]
    assert metrics["per_class"]["a"] == {"precision": 1 / 3, "recall": 1.0, "support": 2}
    assert metrics["per_class"]["b"]["recall"] == 0.0
    assert round(metrics["macro_f1"], 4) == round((0.5 + 0 + 0) / 3, 4)


def test_confusion_matrix_is_a_png_shown_in_the_report():
    png = confusion_matrix_png([[2, 0, 0], [1, 1, 0], [0, 0, 2]], ["a", "b", "c"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    metrics = {
        "accuracy": 0.8,
        "macro_f1": 0.78,
        "per_class": {"a": {"precision": 0.67, "recall": 1.0, "support": 2}},
    }
    page = evaluation_html(metrics, png)
    assert "Test accuracy 0.800" in page and "data:image/png;base64," in page
