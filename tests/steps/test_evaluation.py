from __future__ import annotations

import base64
import io

import pandas as pd
from PIL import Image
from sklearn.dummy import DummyClassifier

from steps.config_models import DatasetSpec, NumericFeature
from steps.evaluation import compute_metrics, confusion_matrix_png, evaluation_html

SPEC = DatasetSpec(
    path="unused.csv",
    target="label",
    classes=["a", "b", "c"],
    features={"x": NumericFeature(min=0, max=10)},
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
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (450, 400))
    assert len(image.getcolors(maxcolors=100_000)) > 100  # drawn, not a blank canvas
    metrics = {
        "accuracy": 0.8,
        "balanced_accuracy": 0.75,
        "macro_f1": 0.78,
        "roc_auc": 0.9,
        "per_class": {"a": {"precision": 0.67, "recall": 1.0, "support": 2}},
    }
    page = evaluation_html(metrics, png)
    assert "Test accuracy 0.800" in page and "macro-F1 0.780" in page
    assert "balanced accuracy 0.750" in page and "ROC AUC 0.900" in page
    assert "<td>a</td><td>0.670</td><td>1.000</td><td>2</td>" in page
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page
