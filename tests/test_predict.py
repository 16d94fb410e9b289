"""`python run.py predict`: one row from the BentoML export, files through batch inference."""

from __future__ import annotations

import os
from pathlib import Path

import bentoml
import pandas as pd
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from tests.helpers import model_config, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def config(served_model: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_config(tmp_path_factory.mktemp("batch"), served_model)


def production_number(model_name: str) -> str:
    return str(Client().get_model_version(model_name, ModelStages.PRODUCTION).number)


def served_probabilities(model_name: str, row: list[float]) -> dict[str, float]:
    """What the exported model itself gives this row, whichever candidate the config chose."""
    export = bentoml.models.get(f"{model_name}:latest")
    names = [feature["name"] for feature in export.info.metadata["features"]]
    classifier = bentoml.sklearn.load_model(export)
    probabilities = classifier.predict_proba(pd.DataFrame([row], columns=names))[0]
    return dict(zip(export.info.metadata["classes"], probabilities, strict=True))


def test_one_row_prints_species_probability_and_version(config, served_model, tmp_path):
    row = [6.3, 3.3, 6.0, 2.5]  # a clear virginica: any model past the quality gate says so
    result = run_cli("--config", str(config), "predict", *map(str, row), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = served_probabilities(served_model, row)
    assert max(expected, key=expected.get) == "virginica"
    assert result.stdout.startswith(f"virginica (probability {expected['virginica']:.2f})")
    assert result.stdout.strip().endswith(
        f"{served_model} version {production_number(served_model)}"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ["5.1", "3.5", "1.4"],
            "expected 4 values (sepal_length sepal_width petal_length petal_width)",
        ),
        (["5.1", "3.5", "1.4", "50"], "petal_width: Input should be less than or equal to 5"),
        (["5.1", "3.5", "nan", "0.2"], "petal_length: Input should be a finite number"),
        (["5.1", "3.5", "abc", "0.2"], "petal_length: 'abc' is not a number"),
    ],
)
def test_one_bad_row_is_refused_with_the_reason(config, tmp_path, values, message):
    result = run_cli("--config", str(config), "predict", *values, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_one_row_with_nothing_exported_says_what_to_do(config, tmp_path):
    empty = {**os.environ, "BENTOML_HOME": str(tmp_path / "empty")}
    result = run_cli(
        "--config", str(config), "predict", "5", "3", "1", "0.2", cwd=tmp_path, env=empty
    )
    assert result.returncode == 1
    assert "nothing was promoted yet" in result.stderr and "make run" in result.stderr


def labelled_iris(iris_csv: Path) -> pd.DataFrame:
    return pd.read_csv(iris_csv)


def test_a_file_gets_labels_probabilities_and_version(config, served_model, iris_csv, tmp_path):
    truth = labelled_iris(iris_csv).sample(60, random_state=3)
    source = tmp_path / "new.csv"
    truth.drop(columns="species").to_csv(source, index=False)

    result = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    output = tmp_path / "new.predictions.csv"
    assert f"Written to     {output}" in result.stdout
    assert "Drift          none detected" in result.stdout

    predictions = pd.read_csv(output)
    assert list(predictions.columns) == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "predicted_label",
        "probability_setosa", "probability_versicolor", "probability_virginica", "model_version",
    ]  # fmt: skip
    assert len(predictions) == 60
    accuracy = (predictions["predicted_label"].to_numpy() == truth["species"].to_numpy()).mean()
    assert accuracy >= 0.9
    probabilities = predictions.filter(like="probability_").sum(axis=1)
    assert probabilities.between(0.999, 1.001).all()
    assert set(predictions["model_version"].astype(str)) == {production_number(served_model)}


def test_a_drifted_file_is_flagged_and_recorded(config, iris_csv, tmp_path):
    shifted = labelled_iris(iris_csv).drop(columns="species")
    shifted["petal_length"] = (shifted["petal_length"] + 2.5).clip(upper=15)
    source = tmp_path / "shifted.csv"
    shifted.to_csv(source, index=False)
    output = tmp_path / "out" / "preds.csv"

    result = run_cli(
        "--config", str(config), "predict", "--input", str(source), "--output", str(output),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DRIFT in petal_length" in result.stdout
    assert output.is_file()

    run = Client().get_pipeline("batch_inference").last_run
    report = run.steps["detect_drift"].outputs["drift_report"][0].load()
    assert report["drifted_features"] == ["petal_length"]
    assert run.steps["detect_drift"].run_metadata["drift"]["drift"] is True


def test_a_bad_file_names_column_and_line_and_writes_nothing(config, iris_csv, tmp_path):
    frame = labelled_iris(iris_csv).drop(columns="species").head(10).astype(str)
    frame.loc[4, "sepal_width"] = "wide"
    source = tmp_path / "bad.csv"
    frame.to_csv(source, index=False)

    result = run_cli("--config", str(config), "predict", "--input", str(source), cwd=tmp_path)
    assert result.returncode == 1
    assert "nothing was predicted" in result.stderr
    assert "column 'sepal_width'" in result.stderr and "line 6" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bad.predictions.csv").exists()


def test_a_file_with_no_production_model_says_what_to_do(tmp_path, iris_csv):
    config = model_config(tmp_path, "never_trained")
    result = run_cli("--config", str(config), "predict", "--input", str(iris_csv), cwd=tmp_path)
    assert result.returncode == 1
    assert "No production version of 'never_trained'" in result.stderr


def test_values_and_input_together_are_a_usage_error(config, iris_csv, tmp_path):
    result = run_cli(
        "--config", str(config), "predict", "--input", str(iris_csv), "1", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "either the feature VALUES" in result.stderr
