"""Read the production export straight from BentoML's model store, without importing BentoML.

The one-row `python run.py predict` is interactive: it reads the files `bentoml.sklearn`
wrote (`model.yaml`, `saved_model.pkl`) so it starts in the time scikit-learn takes to load.
tests/service/test_model_store.py checks it finds what BentoML's own API finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class NoServingModel(LookupError):
    """Nothing was exported for serving: no version was ever promoted in this store."""


@dataclass(frozen=True)
class ServingModel:
    tag: str
    labels: dict[str, str]
    metadata: dict[str, Any]
    folder: Path

    def load(self) -> Any:
        import joblib

        return joblib.load(self.folder / "saved_model.pkl")


def store_folder() -> Path:
    """BentoML's home, as BentoML resolves it (BENTOML_HOME, else ~/bentoml)."""
    return Path(os.environ.get("BENTOML_HOME", "~/bentoml")).expanduser()


def latest_export(name: str) -> ServingModel:
    """The newest export of `name`, which is the production version."""
    models = store_folder() / "models" / name
    latest = models / "latest"
    if not latest.is_file():
        raise NoServingModel(
            f"No model '{name}' in the BentoML store ({store_folder()}): nothing was promoted "
            "yet. Train and promote one with `make run` (or `python run.py`) first."
        )
    folder = models / latest.read_text().strip()
    info = yaml.safe_load((folder / "model.yaml").read_text())
    return ServingModel(
        tag=f"{name}:{info['version']}",
        labels=info.get("labels") or {},
        metadata=info.get("metadata") or {},
        folder=folder,
    )
