"""Duplicated rows are a data-quality note: a warning with their lines, a count, no error."""

from __future__ import annotations

import logging

from steps.config_models import DatasetSpec
from steps.data import read_dataset
from steps.validation import note_duplicates, validate_dataset
from tests.helpers import shipped_config

DATASET = DatasetSpec(**shipped_config()["parameters"]["dataset"])
HEADER = "sepal_length,sepal_width,petal_length,petal_width,species\n"


def test_iris_has_one_duplicate_and_it_is_named(iris_csv, caplog):
    clean = validate_dataset(read_dataset(iris_csv), DATASET, source="iris")
    with caplog.at_level(logging.WARNING, logger="steps.validation"):
        assert note_duplicates(clean, "data/raw/iris.csv") == 1
    assert len(clean) == 150  # kept
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "data/raw/iris.csv: 1 duplicate row (line 144," in record.getMessage()


def test_values_are_compared_as_numbers_in_the_configured_columns(tmp_path, caplog):
    path = tmp_path / "dups.csv"
    path.write_text(
        "id,"
        + HEADER
        + "1,5.1,3.5,1.4,0.2,setosa\n"
        + "2,5.10,3.5,1.4,0.2,setosa\n"  # the same row: an extra column and "5.10" aside
        + "3,5.1,3.5,1.4,0.2,setosa\n"
        + "4,5.1,3.5,1.4,0.3,setosa\n"  # differs
    )
    clean = validate_dataset(read_dataset(path), DATASET, source="dups", with_target=False)
    with caplog.at_level(logging.WARNING, logger="steps.validation"):
        assert note_duplicates(clean, "dups") == 2
    assert "dups: 2 duplicate rows (lines 3, 4," in caplog.text


def test_no_duplicates_no_warning(iris_csv, caplog):
    clean = validate_dataset(read_dataset(iris_csv), DATASET, source="iris").drop_duplicates()
    with caplog.at_level(logging.WARNING, logger="steps.validation"):
        assert note_duplicates(clean, "iris") == 0
    assert caplog.records == []
