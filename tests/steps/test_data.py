from __future__ import annotations

import yaml

from data.make_iris import write_iris
from steps.data import file_md5, read_dataset, split_dataset
from tests.helpers import REPO


def test_raw_data_is_byte_identical_to_what_the_dvc_file_records(tmp_path):
    """make_iris is deterministic, so `make data` can bootstrap the committed .dvc file's data."""
    recorded = yaml.safe_load((REPO / "data" / "raw" / "iris.csv.dvc").read_text())["outs"][0]
    write_iris(tmp_path / "iris.csv")
    assert file_md5(tmp_path / "iris.csv") == recorded["md5"]
    assert (tmp_path / "iris.csv").stat().st_size == recorded["size"]


def test_iris_csv_shape_and_header(iris_csv):
    lines = iris_csv.read_text().splitlines()
    assert lines[0] == "sepal_length,sepal_width,petal_length,petal_width,species"
    assert len(lines) == 151
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"setosa", "versicolor", "virginica"}


def test_split_is_stratified_seeded_and_disjoint(iris_csv):
    frame = read_dataset(iris_csv).reset_index(names="row")
    train, test = split_dataset(frame, "species", test_size=0.2, seed=7)
    again_train, _ = split_dataset(frame, "species", test_size=0.2, seed=7)
    other_train, _ = split_dataset(frame, "species", test_size=0.2, seed=8)
    assert (len(train), len(test)) == (120, 30)
    assert test["species"].value_counts().to_dict() == {
        "setosa": 10,
        "versicolor": 10,
        "virginica": 10,
    }
    assert set(train["row"]).isdisjoint(test["row"])
    assert train["row"].tolist() == again_train["row"].tolist()
    assert train["row"].tolist() != other_train["row"].tolist()
