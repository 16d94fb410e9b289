"""Real tables: categories, missing values, headerless files, other delimiters and NA
markers are read and checked as the config says, and bad rows are named before training."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steps.config_models import DatasetSpec, ReadOptions
from steps.data import read_dataset
from steps.validation import DataValidationError, learn_categories, validate_dataset
from tests.tabular_data import CHURN_COLUMNS, churn_rows, churn_spec, write_headerless_iris

CHURN = churn_spec()
IRIS_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
HEADERLESS_IRIS = DatasetSpec(
    path="iris.data",
    target="species",
    classes=["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
    features={name: {"min": 0} for name in IRIS_NAMES[:-1]},
    read=ReadOptions(header=False, columns=IRIS_NAMES),
)


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    path.write_text("".join(delimiter.join(row) + "\n" for row in [CHURN_COLUMNS, *rows]))
    return path


def problems(path: Path, spec: DatasetSpec) -> str:
    with pytest.raises(DataValidationError) as raised:
        validate_dataset(read_dataset(path, read=spec.read), spec, source=path.name)
    return str(raised.value)


def test_churn_table_reads_with_categories_and_gaps(tmp_path):
    path = write_rows(tmp_path / "churn.csv", churn_rows(400, seed=2))
    clean = validate_dataset(read_dataset(path), CHURN, source="churn")
    assert list(clean.columns) == CHURN.columns  # customer_id (ignored) is gone
    assert clean["monthly_spend"].dtype == float and clean["monthly_spend"].isna().sum() > 0
    assert set(clean["plan"]) <= {"basic", "pro", "enterprise"}
    assert learn_categories(clean, CHURN).features["region"].categories == [
        "east",
        "north",
        "south",
        "west",
    ]


def test_unlisted_category_and_refused_gaps_name_column_rule_and_line(tmp_path):
    rows = churn_rows(60, seed=3)
    rows[4][1] = "gold"  # plan, line 6
    rows[9][2] = ""  # region: missing is refused (no `missing:` policy), line 11
    rows[12][4] = "500"  # tenure_months above its max, line 14
    message = problems(write_rows(tmp_path / "bad.csv", rows), CHURN)
    assert "3 problems found" in message
    assert (
        "column 'plan': 1 row breaks the rule 'must be one of basic, pro, enterprise' "
        "at line 6 (values: 'gold')"
    ) in message
    assert "column 'region': 1 row breaks the rule 'must not be empty' at line 11" in message
    assert "column 'tenure_months': 1 row breaks the rule 'must be within [0, 120]'" in message


def test_a_learned_categorical_with_too_many_values_is_refused(tmp_path):
    rows = churn_rows(300, seed=4)
    for index, row in enumerate(rows):
        row[2] = f"town_{index}"  # region: every row its own value, like an ID
    spec = CHURN.model_copy(update={"max_categories": 50})
    message = problems(write_rows(tmp_path / "ids.csv", rows), spec)
    assert "column 'region': 300 distinct values, more than max_categories (50)" in message
    assert "move it to `ignore:`" in message


def test_missing_label_column_is_named(tmp_path):
    rows = [row[:-1] for row in churn_rows(30, seed=5)]
    path = tmp_path / "nolabel.csv"
    path.write_text("".join(",".join(r) + "\n" for r in [CHURN_COLUMNS[:-1], *rows]))
    assert "missing column 'churned'" in problems(path, CHURN)


def test_headerless_file_with_named_columns(tmp_path):
    path = write_headerless_iris(tmp_path / "iris.data")
    frame = read_dataset(path, read=HEADERLESS_IRIS.read)
    assert list(frame.columns) == IRIS_NAMES
    assert frame.index[0] == 1  # no header: the first row is line 1
    clean = validate_dataset(frame, HEADERLESS_IRIS, source="iris.data")
    assert len(clean) == 150 and set(clean["species"]) == set(HEADERLESS_IRIS.classes)


def test_headerless_file_with_the_wrong_number_of_names(tmp_path):
    path = write_headerless_iris(tmp_path / "iris.data")
    read = ReadOptions(header=False, columns=IRIS_NAMES[:-1])
    expected = "line 1 has 5 fields, but dataset.read.columns names 4"
    with pytest.raises(DataValidationError, match=re.escape(expected)):
        read_dataset(path, read=read)


def test_delimiter_and_na_markers(tmp_path):
    rows = churn_rows(200, seed=6)
    rows[0][3] = "NA"
    rows[1][4] = "?"
    path = write_rows(tmp_path / "semi.csv", rows, delimiter=";")
    read = ReadOptions(delimiter=";", na_values=["", "NA", "?"])
    spec = CHURN.model_copy(update={"read": read})
    clean = validate_dataset(read_dataset(path, read=read), spec, source="semi")
    assert clean.loc[2, "monthly_spend"] != clean.loc[2, "monthly_spend"]  # NaN, line 2
    assert clean.loc[3, "tenure_months"] != clean.loc[3, "tenure_months"]
    # Read with the default comma, the same file is one column, and the message says why.
    assert "the file looks ';'-delimited, but the config reads ','" in problems(path, CHURN)
