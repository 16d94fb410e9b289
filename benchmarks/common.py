"""Set-up shared by the benchmarks: throw-away stores and a promoted Iris model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
QUICK = os.environ.get("BENCH_QUICK") == "1"


def isolated_env(state: Path) -> dict[str, str]:
    """ZenML and BentoML homes inside `state`, so a benchmark never touches the user's own."""
    return {
        **os.environ,
        "ZENML_CONFIG_PATH": str(state / "zenml"),
        "BENTOML_HOME": str(state / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
        "ZENML_ANALYTICS_OPT_IN": "false",
    }


def train_iris(state: Path, env: dict[str, str]) -> Path:
    """Train and promote Iris with `python run.py`; returns the exported joblib file."""
    sys.path.insert(0, str(REPO))
    from data.make_iris import write_iris

    write_iris(state / "iris.csv")
    config = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())
    config["parameters"]["dataset"]["path"] = str(state / "iris.csv")
    (state / "training.yaml").write_text(yaml.safe_dump(config))
    subprocess.run(
        [sys.executable, str(REPO / "run.py"), "--config", str(state / "training.yaml")],
        cwd=state, env=env, check=True, capture_output=True,
    )  # fmt: skip
    models = Path(env["BENTOML_HOME"]) / "models" / "iris_classifier"
    return models / (models / "latest").read_text().strip() / "saved_model.pkl"
