"""The request shapes built from a model's feature schema, and the response shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from service.contract import as_columns, as_records, columns_matrix, columns_model, record_model

FEATURES = [{"name": "width", "min": 0.5, "max": 10.0}, {"name": "height", "min": 1.0, "max": 2.0}]
Record = record_model(FEATURES)


def test_a_valid_record_keeps_its_numbers():
    record = Record(width=3, height=1.5)
    assert (record.width, record.height) == (3.0, 1.5)


@pytest.mark.parametrize(
    ("values", "error_type"),
    [
        ({"width": "3", "height": 1.5}, "float_type"),
        ({"width": 3.0}, "missing"),
        ({"width": 3.0, "height": 1.5, "depth": 1.0}, "extra_forbidden"),
        ({"width": math.nan, "height": 1.5}, "finite_number"),
        ({"width": math.inf, "height": 1.5}, "finite_number"),
        ({"width": 11.0, "height": 1.5}, "less_than_equal"),
        ({"width": 0.1, "height": 1.5}, "greater_than_equal"),
        ({"width": True, "height": 1.5}, "float_type"),
    ],
)
def test_a_bad_record_is_refused_naming_the_rule(values, error_type):
    with pytest.raises(ValidationError) as caught:
        Record(**values)
    assert caught.value.errors()[0]["type"] == error_type


def test_the_schema_shows_ranges():
    schema = Record.model_json_schema()["properties"]["width"]
    assert (schema["minimum"], schema["maximum"]) == (0.5, 10.0)


def test_columns_must_have_equal_lengths_within_the_limit():
    Columns = columns_model(FEATURES, max_rows=3)
    columns = Columns(width=[1.0, 2.0], height=[1.0, 2.0])
    assert columns_matrix(columns, ["width", "height"]).tolist() == [[1.0, 1.0], [2.0, 2.0]]
    with pytest.raises(ValidationError, match="same length"):
        Columns(width=[1.0, 2.0], height=[1.0])
    with pytest.raises(ValidationError, match="at most 3"):
        Columns(width=[1.0] * 4, height=[1.0] * 4)
    with pytest.raises(ValidationError, match="less than or equal to 2"):
        Columns(width=[1.0], height=[3.0])


def test_records_and_columns_say_the_same_thing():
    probs = np.array([[0.2, 0.8], [0.9, 0.1]])
    records = as_records(probs, ["a", "b"])
    assert [r["label"] for r in records] == ["b", "a"]
    assert records[0]["probabilities"] == {"a": 0.2, "b": 0.8}
    assert as_columns(probs, ["a", "b"]) == {
        "labels": ["b", "a"],
        "probabilities": {"a": [0.2, 0.9], "b": [0.8, 0.1]},
    }
