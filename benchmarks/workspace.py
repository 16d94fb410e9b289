"""A throw-away workspace for benchmark runs: its own ZenML store, BentoML home and configs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from pipelines.project_paths import PROJECT_ROOT
from pipelines.zenml_startup import QUIET_DEFAULTS

REPO = PROJECT_ROOT
PYTHON = sys.executable


def isolated_env(folder: Path) -> dict[str, str]:
    """The user's environment, with ZenML and BentoML state kept inside `folder`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ZENML_STORE_URL", "ZENML_REPOSITORY_PATH")
    }
    env.update(
        {
            "ZENML_CONFIG_PATH": str(folder / "zenml"),
            "BENTOML_HOME": str(folder / "bentoml"),
            **QUIET_DEFAULTS,
            "BENTOML_DO_NOT_TRACK": "true",
            # One OpenMP thread for both sides: on a shared 2-core machine, spinning OpenMP
            # threads made histogram gradient boosting ~4x slower and far noisier.
            "OMP_NUM_THREADS": "1",
        }
    )
    return env


def run_config(template: Path, folder: Path, data: Path, model_name: str) -> Path:
    """A copy of a run config reading `data` and versioning `model_name`."""
    config = yaml.safe_load(template.read_text())
    config["model"]["name"] = model_name
    config["parameters"]["dataset"]["path"] = str(data)
    path = folder / f"{model_name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def ours(config: Path, *options: str) -> list[str]:
    """`python run.py`, as a user types it."""
    return [PYTHON, str(REPO / "run.py"), "--config", str(config), *options]


def bare(config: Path, *options: str) -> list[str]:
    return [
        PYTHON,
        str(REPO / "benchmarks" / "bare_pipeline.py"),
        "--config",
        str(config),
        *options,
    ]


def plain(config: Path, out: Path) -> list[str]:
    return [
        PYTHON,
        str(REPO / "benchmarks" / "plain_training.py"),
        "--config",
        str(config),
        "--out",
        str(out),
    ]


def exported_model_file(env: dict[str, str], model_name: str) -> Path:
    """The joblib file of the newest BentoML export of `model_name` (its production model)."""
    models = Path(env["BENTOML_HOME"]) / "models" / model_name
    return models / (models / "latest").read_text().strip() / "saved_model.pkl"
