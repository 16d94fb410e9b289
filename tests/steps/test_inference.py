"""Labelling a batch: the input as read, plus label, probabilities and model version."""

from __future__ import annotations

import pandas as pd
from sklearn.neighbors import KNeighborsClassifier

from steps.inference import label_rows


def test_rows_keep_their_input_and_gain_label_probabilities_and_version():
    train = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1]})
    model = KNeighborsClassifier(n_neighbors=1).fit(train, ["low", "low", "high", "high"])
    original = pd.DataFrame({"x": ["0.05", "4.9"], "note": ["keep", "me"]}, index=[2, 3])
    features = pd.DataFrame({"x": [0.05, 4.9]}, index=[2, 3])

    labelled = label_rows(model, features, original, "7")
    assert list(labelled.columns) == [
        "x", "note", "predicted_label", "probability_high", "probability_low", "model_version",
    ]  # fmt: skip
    assert labelled["predicted_label"].tolist() == ["low", "high"]
    assert labelled["note"].tolist() == ["keep", "me"]
    assert labelled["probability_low"].tolist() == [1.0, 0.0]
    assert set(labelled["model_version"]) == {"7"}
