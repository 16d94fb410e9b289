"""`python run.py init-data`: a config inferred from a CSV, that trains with no edit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from data.init_data import (
    InitDataError,
    dataset_path_for,
    infer_dataset,
    init_data,
    model_name_from,
    rows_per_class,
    sniff_delimiter,
)
from pipelines.project_paths import PROJECT_ROOT
from steps.config_models import check_training_config
from tests.helpers import run_cli
from tests.tabular_data import write_churn, write_headerless_iris


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def written(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_churn(tmp_path_factory.mktemp("churn") / "churn.csv")


@pytest.fixture(scope="module")
def headerless_iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_headerless_iris(tmp_path_factory.mktemp("iris") / "iris.data")


# --- the churn table: an ID, categories, missing numbers, an imbalanced label ---------------


def test_churn_columns_get_their_kinds_categories_ranges_and_missing_policies(churn) -> None:
    inference = infer_dataset(churn)

    assert inference.read == {"header": True, "delimiter": ",", "na_values": [""]}
    assert inference.target == "churned"  # the last column
    assert list(inference.class_counts) == ["no", "yes"]
    assert inference.features["plan"] == {
        "type": "categorical",
        "categories": ["basic", "enterprise", "pro"],
    }
    assert inference.features["region"]["categories"] == ["east", "north", "south", "west"]
    spend, tenure = inference.features["monthly_spend"], inference.features["tenure_months"]
    assert spend["missing"] == tenure["missing"] == "median"
    assert 10 < spend["min"] < spend["max"] and type(spend["min"]) is float
    assert tenure["min"] >= 1 and tenure["max"] <= 71
    assert set(inference.missing) == {"monthly_spend", "tenure_months"}
    assert any("monthly_spend" in note and "missing" in note for note in inference.notes)


def test_the_churn_id_column_is_ignored_with_a_warning(churn) -> None:
    inference = infer_dataset(churn)

    assert list(inference.ignored) == ["customer_id"]
    assert "ID-like" in inference.ignored["customer_id"]
    assert any("customer_id" in warning for warning in inference.warnings)


def test_an_imbalanced_label_gets_balanced_metrics_and_class_weights(churn, tmp_path) -> None:
    output, inference = init_data(churn, model_name="churn_test", output=tmp_path / "c.yaml")

    assert inference.imbalanced
    assert any("imbalanced" in warning for warning in inference.warnings)
    parameters = written(output)["parameters"]
    assert parameters["cv_metric"] == "balanced_accuracy"  # the gate's metric too
    assert parameters["quality_gate"] == {"metric": "balanced_accuracy", "min_value": 0.6}
    candidates = parameters["candidates"]
    assert candidates["logistic_regression"]["params"]["class_weight"] == "balanced"
    assert candidates["random_forest"]["params"]["class_weight"] == "balanced"
    assert "class_weight" not in candidates["k_nearest_neighbors"].get("params", {})
    assert parameters["dataset"]["ignore"] == ["customer_id"]
    assert parameters["dataset"]["min_rows_per_class"] == 10
    check_training_config(output)


def test_the_written_config_is_the_shipped_one_with_this_data(churn, tmp_path) -> None:
    output, _ = init_data(
        churn, model_name="churn_test", output=tmp_path / "c.yaml", today="2030-01-02"
    )

    text = output.read_text()
    assert text.startswith("# Written by `python run.py init-data` from ")
    assert "on 2030-01-02" in text.splitlines()[0]
    assert "# - column 'customer_id' is left out" in text
    assert "raise it" in text  # the quality gate's comment
    config = written(output)
    shipped = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text())
    assert config["model"]["name"] == "churn_test"
    assert config["execution_mode"] == shipped["execution_mode"]
    assert config["steps"] == shipped["steps"] == {"promote_model": {"enable_cache": False}}
    assert config["parameters"]["split"] == shipped["parameters"]["split"]
    assert config["parameters"]["dataset"]["path"] == str(churn.resolve())  # outside the project
    assert "&" not in text and "*" not in text  # no YAML anchors


def test_a_balanced_label_keeps_accuracy(headerless_iris, tmp_path) -> None:
    output, _ = init_data(headerless_iris, model_name="iris_test", output=tmp_path / "i.yaml")

    parameters = written(output)["parameters"]
    assert parameters["cv_metric"] == "accuracy"
    assert parameters["quality_gate"] == {"metric": "accuracy", "min_value": 0.43}
    assert "class_weight" not in parameters["candidates"]["logistic_regression"]["params"]


# --- reading: headers, delimiters, NA markers ------------------------------------------------


def test_headerless_iris_is_read_with_numbered_columns(headerless_iris) -> None:
    inference = infer_dataset(headerless_iris)

    assert inference.read["header"] is False
    assert inference.read["columns"] == [f"column_{i}" for i in range(1, 6)]
    assert inference.target == "column_5"
    assert list(inference.class_counts) == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert inference.rows == 150  # the first row is data
    assert inference.kind_of("numeric") == ["column_1", "column_2", "column_3", "column_4"]
    assert any("no header row found" in note for note in inference.notes)


def test_names_and_header_options_override_detection(headerless_iris) -> None:
    names = ["sl", "sw", "pl", "pw", "species"]
    inference = infer_dataset(headerless_iris, names=names)
    assert inference.read["columns"] == names and inference.target == "species"

    forced = infer_dataset(headerless_iris, header=True)
    assert forced.read["header"] is True and forced.rows == 149

    with pytest.raises(InitDataError, match=r"--names gives 2 names, but .* has 5 columns"):
        infer_dataset(headerless_iris, names=["a", "b"])
    with pytest.raises(InitDataError, match="a name is empty"):
        infer_dataset(headerless_iris, names=["a", "", "c", "d", "e"])
    with pytest.raises(InitDataError, match="column names repeat: a"):
        infer_dataset(headerless_iris, names=["a", "a", "c", "d", "e"])
    with pytest.raises(InitDataError, match="without a header row"):
        infer_dataset(headerless_iris, header=True, names=names)


def test_semicolons_and_na_markers_are_detected(tmp_path) -> None:
    rows = [["size", "colour", "label"]]
    colours = ["red", "blue", "?"]
    rows += [[str(i % 7) if i % 9 else "NA", colours[i % 3], "ab"[i % 2]] for i in range(40)]
    path = write_rows(tmp_path / "t.csv", rows, delimiter=";")

    inference = infer_dataset(path)

    assert inference.read == {"header": True, "delimiter": ";", "na_values": ["", "NA", "?"]}
    assert inference.features["size"]["missing"] == "median"
    assert inference.features["colour"] == {
        "type": "categorical",
        "categories": ["blue", "red"],
        "missing": "most_frequent",
    }
    assert inference.missing["size"] == 5


def test_the_delimiter_is_the_one_that_splits_rows_evenly() -> None:
    assert sniff_delimiter("a;b;c\n1,5;2,5;x\n") == ";"  # decimal commas
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter('a|b\n"x|y"|2\n') == "|"
    assert sniff_delimiter("only\n1\n") == ","


def test_categories_that_look_like_numbers_or_booleans_stay_text(tmp_path) -> None:
    rows = [["code", "flag", "x", "label"]]
    rows += [
        [["01", "1", "x"][i % 3], ["yes", "no", "true"][i % 3], str(i % 5), "ny"[i % 2]]
        for i in range(30)
    ]
    path = write_rows(tmp_path / "t.csv", rows)

    output, _ = init_data(path, model_name="text_test", output=tmp_path / "t.yaml")

    dataset = written(output)["parameters"]["dataset"]
    assert dataset["features"]["code"]["categories"] == ["01", "1", "x"]
    assert dataset["features"]["flag"]["categories"] == ["no", "true", "yes"]
    assert dataset["classes"] == ["n", "y"]
    assert check_training_config(output).dataset.features["code"].categories == ["01", "1", "x"]


# --- columns left out ---------------------------------------------------------------------


def test_constant_and_high_cardinality_columns_are_ignored_with_warnings(tmp_path) -> None:
    rows = [["same", "city", "serial", "amount", "label"]]
    rows += [["EU", f"town{i % 3000}", f"S{i}", str(i % 13), "ab"[i % 2]] for i in range(6000)]
    path = write_rows(tmp_path / "t.csv", rows)

    inference = infer_dataset(path)

    assert inference.ignored["same"].startswith("constant")
    assert inference.ignored["city"].startswith("high cardinality: 3000 distinct")
    assert "max_categories" in inference.ignored["city"]  # how to include it
    assert inference.ignored["serial"].startswith("ID-like")
    assert list(inference.features) == ["amount"]
    for name in ("same", "city", "serial"):
        assert any(f"{name!r}" in warning for warning in inference.warnings)


def test_integer_ids_are_ignored_but_distinct_measurements_are_kept(tmp_path) -> None:
    rows = [["id", "weight", "label"]]
    rows += [[str(1000 + i), f"{i * 0.37:.2f}", "ab"[i % 2]] for i in range(50)]
    inference = infer_dataset(write_rows(tmp_path / "t.csv", rows))

    assert "id" in inference.ignored and "weight" in inference.features


def test_a_header_without_rows_is_refused(tmp_path) -> None:
    with pytest.raises(InitDataError, match="no data rows"):
        infer_dataset(write_rows(tmp_path / "t.csv", [["a", "b"]]))


def test_a_file_with_no_usable_feature_is_refused(tmp_path) -> None:
    rows = [["same", "label"]] + [["x", "ab"[i % 2]] for i in range(30)]
    with pytest.raises(InitDataError, match="no column is usable as a feature"):
        infer_dataset(write_rows(tmp_path / "t.csv", rows))


# --- the target ---------------------------------------------------------------------------


def test_a_missing_target_column_is_refused(churn) -> None:
    with pytest.raises(InitDataError, match=r"no column 'churn' to predict .*customer_id, plan"):
        infer_dataset(churn, target="churn")


def test_a_one_class_label_is_refused(tmp_path) -> None:
    rows = [["x", "label"]] + [[str(i), "yes"] for i in range(30)]
    with pytest.raises(InitDataError, match=r"has 1 class .*'yes'.*at least 2"):
        infer_dataset(write_rows(tmp_path / "t.csv", rows))


def test_a_regression_like_label_is_refused(tmp_path) -> None:
    rows = [["x", "price"]] + [[str(i % 4), f"{i * 1.5:.1f}"] for i in range(100)]
    with pytest.raises(InitDataError, match=r"100 distinct values, more than 50: .*regress"):
        infer_dataset(write_rows(tmp_path / "t.csv", rows))


def test_a_missing_label_is_refused(tmp_path) -> None:
    rows = [["x", "label"]] + [[str(i), "ab"[i % 2] if i % 10 else ""] for i in range(30)]
    with pytest.raises(InitDataError, match="missing on 3 rows"):
        infer_dataset(write_rows(tmp_path / "t.csv", rows))


def test_rows_per_class_follows_the_split_and_cv_rule() -> None:
    assert rows_per_class({"a": 100, "b": 8}, test_size=0.2, cv_folds=5) == 8
    assert rows_per_class({"a": 100, "b": 50}, test_size=0.2, cv_folds=5) == 10
    assert rows_per_class({"a": 100, "b": 50}, test_size=0.2, cv_folds=10) == 13
    with pytest.raises(InitDataError, match=r"class 'b' has 6 rows; .* at least 7"):
        rows_per_class({"a": 100, "b": 6}, test_size=0.2, cv_folds=5)


def test_a_class_too_small_for_the_split_is_refused(tmp_path) -> None:
    rows = [["x", "label"]] + [[str(i % 9), "b" if i < 4 else "a"] for i in range(60)]
    path = write_rows(tmp_path / "t.csv", rows)
    with pytest.raises(InitDataError, match="class 'b' has 4 rows"):
        init_data(path, output=tmp_path / "t.yaml")
    assert not (tmp_path / "t.yaml").exists()


# --- names, paths, the output -------------------------------------------------------------


def test_model_names_are_what_bentoml_and_zenml_take() -> None:
    assert model_name_from("Customer Churn-2024") == "customer_churn_2024"
    assert model_name_from("2024.sales") == "model_2024_sales"
    assert model_name_from("___") == "model"


def test_a_bad_model_name_is_refused_with_a_suggestion(churn, tmp_path) -> None:
    with pytest.raises(InitDataError, match=r"'Churn-Model'.*'churn_model'"):
        init_data(churn, model_name="Churn-Model", output=tmp_path / "c.yaml")


def test_data_inside_the_project_is_written_relative_to_it() -> None:
    assert dataset_path_for(PROJECT_ROOT / "data" / "raw" / "x.csv") == "data/raw/x.csv"


def test_an_existing_output_is_kept_without_force(churn, tmp_path) -> None:
    output = tmp_path / "c.yaml"
    output.write_text("mine\n")

    with pytest.raises(InitDataError, match="exists: pass --force"):
        init_data(churn, model_name="churn_test", output=output)
    assert output.read_text() == "mine\n"

    init_data(churn, model_name="churn_test", output=output, force=True)
    assert written(output)["model"]["name"] == "churn_test"


def test_the_command_prints_a_summary_and_refuses_with_status_2(churn, tmp_path) -> None:
    from run import cli

    output = tmp_path / "c.yaml"
    args = ["init-data", str(churn), "--model-name", "churn_test", "--output", str(output)]
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert "1200 rows, 6 columns" in result.stdout
    assert "customer_id: ID-like" in result.stdout
    assert f"python run.py --config {output}" in result.stdout
    assert "Warning: column 'customer_id'" in result.stderr

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "--force" in again.stderr
    wrong = CliRunner().invoke(cli, ["init-data", str(churn), "--target", "nope", "--force"])
    assert wrong.exit_code == 2 and "no column 'nope'" in wrong.stderr


# --- trains on the first try ------------------------------------------------------------------


@pytest.mark.slow
def test_the_written_configs_train_and_promote_with_no_edit(churn, headerless_iris, tmp_path):
    for data, model_name in ((churn, "init_churn"), (headerless_iris, "init_iris_data")):
        output = tmp_path / f"{model_name}.yaml"
        made = run_cli(
            "init-data",
            str(data),
            "--model-name",
            model_name,
            "--output",
            str(output),
            cwd=tmp_path,
        )
        assert made.returncode == 0, made.stderr[-3000:]

        trained = run_cli("--config", str(output), cwd=tmp_path)

        assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
        assert "PROMOTED" in trained.stdout, trained.stdout[-3000:]


def test_the_shipped_iris_file_gives_the_shipped_schema(iris_csv, tmp_path) -> None:
    """Iris with its header: the same features, kinds and classes as configs/training.yaml,
    each range the data's own (inside the shipped, looser one)."""
    from data.init_data import init_data
    from tests.helpers import shipped_config

    output, _ = init_data(iris_csv, model_name="init_iris", output=tmp_path / "iris.yaml")
    inferred = check_training_config(output).dataset
    shipped = shipped_config()["parameters"]["dataset"]
    assert inferred.feature_names == list(shipped["features"])
    assert (inferred.target, inferred.classes) == (shipped["target"], shipped["classes"])
    assert inferred.read.header and not inferred.categorical and not inferred.ignore
    for name, feature in inferred.features.items():
        allowed = shipped["features"][name]
        assert allowed["min"] <= feature.min < feature.max <= allowed["max"]
        assert feature.missing == "refuse"
