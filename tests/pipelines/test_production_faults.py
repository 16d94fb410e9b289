"""Production's model cannot be loaded: runs go on, nothing is promoted by accident, a person
promotes by hand, and what is served follows the Model Control Plane (a rollback included)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from deploy.model_store import latest_export
from tests.helpers import REPO, model_config, run_cli, training_config
from tests.service.conftest import start_server, stop_server

pytestmark = pytest.mark.slow

MODEL = "iris_lost"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None):
    result = run_cli(*args, cwd=cwd, env=env)
    return result, result.stdout + result.stderr


def production_number() -> int:
    return Client().get_model_version(MODEL, ModelStages.PRODUCTION).number


def served_version(folder: Path) -> str:
    """What `make serve` serves after its export: `bentoml serve` of the service folder."""
    url, process = start_server(".", REPO / "service", folder / "serve.log", SERVING_MODEL=MODEL)
    try:
        return httpx.get(f"{url}/model", timeout=10).json()["model_version"]
    finally:
        stop_server(process)


def test_lost_production_model_blocks_nothing_and_a_person_decides(tmp_path, iris_csv):
    config = str(training_config(tmp_path, iris_csv, MODEL))
    # --no-cache: the classifier deleted below must be this model's own, not one the cache
    # would share with another model trained on the same data in the session's store.
    first, output = cli("--config", config, "--no-cache", cwd=tmp_path)
    assert first.returncode == 0, output[-3000:]
    assert "PROMOTED" in first.stdout

    # The production version's classifier disappears from the artifact store.
    classifier = Client().get_model_version(MODEL, 1).get_artifact("classifier")
    shutil.rmtree(classifier.uri)

    second, output = cli("--config", config, cwd=tmp_path)
    assert second.returncode == 0, output[-3000:]
    assert "Model version  2: not promoted" in second.stdout
    assert f"'{MODEL}' version 1 cannot be loaded" in second.stdout
    assert "`python run.py promote 2`" in second.stdout
    assert "every step runs again this time" in second.stdout  # the cache held that model
    assert "Traceback" not in output
    assert production_number() == 1

    # Every command that needs production's model says the same, instead of a traceback:
    # an export on a machine whose BentoML store does not hold it yet, batch predictions.
    elsewhere = {**os.environ, "BENTOML_HOME": str(tmp_path / "another-bentoml")}
    export, output = cli("--config", config, "export", cwd=tmp_path, env=elsewhere)
    assert export.returncode == 1
    assert f"The production model '{MODEL}' version 1 cannot be loaded" in export.stderr
    assert "python run.py promote N" in export.stderr
    predict, output = cli(
        "--config", str(model_config(tmp_path, MODEL)), "predict", "--input", str(iris_csv),
        cwd=tmp_path,
    )  # fmt: skip
    assert predict.returncode == 1
    assert f"The production model '{MODEL}' version 1 cannot be loaded" in predict.stderr
    assert "Traceback" not in output

    # A version whose model is gone is refused by hand too; production stays.
    refused, output = cli("--config", config, "promote", "1", cwd=tmp_path)
    assert refused.returncode == 1
    assert "Not promoted" in refused.stderr and "cannot be loaded" in refused.stderr
    assert "The production model was not changed." in refused.stderr

    promoted, output = cli("--config", config, "promote", "2", cwd=tmp_path)
    assert promoted.returncode == 0, output[-3000:]
    assert f"{MODEL} version 2 is production (was version 1)" in promoted.stdout
    assert production_number() == 2
    assert latest_export(MODEL).labels["zenml_model_version"] == "2"
    assert served_version(tmp_path) == "2"

    # A newer version is promoted and served; rolling back to 2 serves 2 again. (A cached
    # run would reuse version 2's classifier, production's own, and promote nothing.)
    third, output = cli("--config", config, "--no-cache", cwd=tmp_path)
    assert "Model version  3: PROMOTED" in third.stdout, output[-3000:]
    assert latest_export(MODEL).labels["zenml_model_version"] == "3"
    rollback, output = cli("--config", config, "promote", "2", cwd=tmp_path)
    assert rollback.returncode == 0, output[-3000:]
    assert latest_export(MODEL).labels["zenml_model_version"] == "2"
    again, output = cli("--config", config, "export", cwd=tmp_path)
    assert again.returncode == 0
    assert f"Already exported: {MODEL} version 2" in again.stdout
    assert served_version(tmp_path) == "2"
