"""Each kind of bad data is stopped before training with a message that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.config_models import DatasetSpec
from steps.data import read_dataset
from steps.validation import DataValidationError, validate_dataset
from tests.helpers import shipped_config


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    config = shipped_config()
    return DatasetSpec(**config["parameters"]["dataset"])


@pytest.fixture(scope="module")
def iris_lines(iris_csv: Path) -> list[str]:
    return iris_csv.read_text().splitlines()


def check(tmp_path: Path, text: str, spec: DatasetSpec) -> str:
    """Write `text` as a CSV, load and validate it as training does; return the error message."""
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(DataValidationError) as raised:
        validate_dataset(read_dataset(path), spec, source=str(path))
    return str(raised.value)


def replace_cell(lines: list[str], line_number: int, column: int, value: str) -> str:
    """The CSV with one cell changed; `line_number` counts the header as line 1."""
    edited = list(lines)
    cells = edited[line_number - 1].split(",")
    cells[column] = value
    edited[line_number - 1] = ",".join(cells)
    return "\n".join(edited) + "\n"


def test_valid_iris_passes_with_float_features(iris_csv, spec):
    clean = validate_dataset(read_dataset(iris_csv), spec, source="iris")
    assert list(clean.columns) == spec.columns
    assert len(clean) == 150
    assert all(clean[name].dtype == float for name in spec.feature_names)


def test_empty_file(tmp_path, spec):
    assert "the file is empty" in check(tmp_path, "", spec)


def test_header_without_rows(tmp_path, spec, iris_lines):
    message = check(tmp_path, iris_lines[0] + "\n", spec)
    assert "no data rows" in message


def test_wrong_delimiter(tmp_path, spec, iris_lines):
    message = check(tmp_path, "\n".join(line.replace(",", ";") for line in iris_lines), spec)
    assert "';'-delimited" in message
    assert "missing column 'sepal_length'" in message


def test_missing_feature_column(tmp_path, spec, iris_lines):
    text = "\n".join(line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in iris_lines)
    message = check(tmp_path, text, spec)
    assert "missing column 'petal_width' (the header has: sepal_length, sepal_width," in message
    assert "1 problem found" in message


def test_missing_target_column(tmp_path, spec, iris_lines):
    text = "\n".join(line.rsplit(",", 1)[0] for line in iris_lines)
    assert "missing column 'species'" in check(tmp_path, text, spec)


def test_text_in_a_numeric_column(tmp_path, spec, iris_lines):
    message = check(tmp_path, replace_cell(iris_lines, 4, 0, "abc"), spec)
    assert "column 'sepal_length': 1 row breaks the rule 'must be a number' at line 4" in message
    assert "'abc'" in message


def test_missing_feature_value(tmp_path, spec, iris_lines):
    message = check(tmp_path, replace_cell(iris_lines, 10, 2, ""), spec)
    assert "column 'petal_length': 1 row breaks the rule 'must not be empty' at line 10" in message


def test_infinite_value(tmp_path, spec, iris_lines):
    message = check(tmp_path, replace_cell(iris_lines, 7, 1, "inf"), spec)
    assert "column 'sepal_width': 1 row breaks the rule 'must be finite' at line 7" in message
    assert "must be within" not in message


def test_out_of_range_values_list_every_line(tmp_path, spec, iris_lines):
    text = replace_cell(iris_lines, 3, 3, "-0.2")
    text = replace_cell(text.splitlines(), 20, 3, "9.5")
    message = check(tmp_path, text, spec)
    assert "column 'petal_width': 2 rows break the rule 'must be within [0.05, 5]'" in message
    assert "lines 3, 20" in message


def test_unknown_label(tmp_path, spec, iris_lines):
    message = check(tmp_path, replace_cell(iris_lines, 60, 4, "rose"), spec)
    assert "column 'species': 1 row breaks the rule 'must be one of setosa, versicolor" in message
    assert "line 60" in message and "'rose'" in message


def test_missing_label(tmp_path, spec, iris_lines):
    message = check(tmp_path, replace_cell(iris_lines, 2, 4, ""), spec)
    assert "column 'species': 1 row breaks the rule 'must not be empty' at line 2" in message


def test_too_few_rows_of_a_class(tmp_path, spec, iris_lines):
    kept = [line for line in iris_lines if not line.endswith("virginica")]
    text = "\n".join(kept + [line for line in iris_lines if line.endswith("virginica")][:3])
    message = check(tmp_path, text, spec)
    assert "class 'virginica' has 3 rows; at least 10 are required" in message


def test_duplicated_column(tmp_path, spec, iris_lines):
    text = "\n".join(f"{line},{line.split(',')[1]}" for line in iris_lines)
    assert "duplicated column names in the header: 'sepal_width'" in check(tmp_path, text, spec)


def test_missing_file(tmp_path, spec):
    with pytest.raises(DataValidationError, match=r"file not found\..*dvc pull"):
        read_dataset(tmp_path / "nowhere.csv")


def test_every_violation_is_reported_at_once(tmp_path, spec, iris_lines):
    text = replace_cell(iris_lines, 4, 0, "abc")
    text = replace_cell(text.splitlines(), 8, 1, "")
    text = replace_cell(text.splitlines(), 9, 4, "tulip")
    message = check(tmp_path, text, spec)
    assert "3 problems found" in message
    for expected in ("'must be a number' at line 4", "'must not be empty' at line 8", "'tulip'"):
        assert expected in message


def test_long_row_lists_are_shortened(tmp_path, spec, iris_lines):
    edited = iris_lines[:1] + [",".join(["99", *line.split(",")[1:]]) for line in iris_lines[1:]]
    message = check(tmp_path, "\n".join(edited), spec)
    assert "150 rows break the rule 'must be within [0.1, 15]'" in message
    assert "lines 2, 3, 4, 5, 6, 7, 8, 9 and 142 more" in message


def test_features_only_for_batch_inputs(iris_csv, spec):
    frame = read_dataset(iris_csv).drop(columns=[spec.target])
    clean = validate_dataset(frame, spec, source="batch", with_target=False)
    assert list(clean.columns) == spec.feature_names


def labels_spec(feature: str, target: str, classes: list[str]) -> DatasetSpec:
    """A one-feature dataset whose labels look like numbers or missing values."""
    return DatasetSpec(
        path="unused.csv",
        target=target,
        classes=classes,
        features={feature: {"min": 0, "max": 100}},
        min_rows_per_class=1,
    )


def test_numeric_class_labels_stay_labels(tmp_path):
    spec = labels_spec("score", "grade", ["01", "02"])
    path = tmp_path / "grades.csv"
    path.write_text("score,grade\n50,01\n70,02\n,02\n")
    with pytest.raises(DataValidationError) as raised:
        validate_dataset(read_dataset(path), spec, source="grades")
    assert "1 problem found" in str(raised.value)
    assert "'must not be empty' at line 4" in str(raised.value)
    path.write_text("score,grade\n50,01\n70,02\n")
    clean = validate_dataset(read_dataset(path), spec, source="grades")
    assert clean["grade"].tolist() == ["01", "02"]
    assert clean["score"].tolist() == [50.0, 70.0]


def test_a_row_with_too_many_fields_names_its_line(tmp_path, spec, iris_lines):
    text = "\n".join([*iris_lines[:4], iris_lines[4] + ",9.9", *iris_lines[5:]])
    message = check(tmp_path, text, spec)
    assert "not a comma-separated table" in message
    assert "Expected 5 fields in line 5, saw 6" in message


def test_text_that_is_not_utf8(tmp_path, spec, iris_lines):
    path = tmp_path / "data.csv"
    path.write_bytes(("\n".join(iris_lines[:3]) + "\n5.0,3.0,1.0,0.2,sétosa\n").encode("latin-1"))
    with pytest.raises(DataValidationError, match="not UTF-8 text"):
        read_dataset(path)


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(DataValidationError, match="not a file"):
        read_dataset(tmp_path)


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path, spec, iris_lines):
    edited = replace_cell(iris_lines, 6, 0, "abc").splitlines()
    text = "\n".join([edited[0], "", *edited[1:], ""])
    message = check(tmp_path, text, spec)
    assert "1 problem found" in message
    assert "'must be a number' at line 7" in message


def test_byte_order_mark_and_spaces_around_names_are_tolerated(tmp_path, spec, iris_lines):
    path = tmp_path / "data.csv"
    header = ", ".join(f"{name} " for name in iris_lines[0].split(","))
    path.write_text("\ufeff" + "\n".join([header, *iris_lines[1:]]) + "\n")
    clean = validate_dataset(read_dataset(path), spec, source="spaced")
    assert list(clean.columns) == spec.columns and len(clean) == 150


def test_na_and_none_are_labels_not_gaps(tmp_path):
    spec = labels_spec("sales", "region", ["NA", "None"])
    path = tmp_path / "regions.csv"
    path.write_text("sales,region\n10,NA\n20,None\n")
    clean = validate_dataset(read_dataset(path), spec, source="regions")
    assert clean["region"].tolist() == ["NA", "None"]
