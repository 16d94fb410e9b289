"""Read the exports straight from BentoML's model store, without importing BentoML.

The one-row `python run.py predict` is interactive: it reads the files `bentoml.sklearn`
wrote (`model.yaml`, `saved_model.pkl`) so it starts in the time scikit-learn takes to load.
`python run.py models --version N` finds a version's exports here by their labels
(export_lines).
tests/deploy/test_model_store.py checks it finds what BentoML's own API finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.export_contract import ExportLabels, bentoml_store, no_model_in_store


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


def latest_export(name: str) -> ServingModel:
    """The newest export of `name`, which is the production version.

    BentoML lower-cases model names, so a ZenML model `Iris` is exported as `iris`.
    """
    models = bentoml_store() / "models" / name.lower()
    latest = models / "latest"
    if not latest.is_file():
        raise NoServingModel(no_model_in_store(name))
    folder = models / latest.read_text().strip()
    info = yaml.safe_load((folder / "model.yaml").read_text())
    return ServingModel(
        tag=f"{info.get('name', name.lower())}:{info['version']}",
        labels=info.get("labels") or {},
        metadata=info.get("metadata") or {},
        folder=folder,
    )


@dataclass(frozen=True)
class StoredExport:
    """One export of a ZenML model version in this machine's BentoML store."""

    tag: str
    created: str  # BentoML's creation_time, ISO 8601 (UTC)
    latest: bool  # its name's `latest`: what `bentoml serve` and the service load


def exports_of(model_name: str, number: int | str) -> list[StoredExport]:
    """Exports labelled as version `number` of ZenML model `model_name`, newest first.

    Read from every `model.yaml` in the store (BentoML lower-cases names, and a version
    exported again after a rollback has several exports). An empty store is no error.
    """
    found = []
    for info_file in sorted((bentoml_store() / "models").glob("*/*/model.yaml")):
        try:
            info = yaml.safe_load(info_file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue  # half-written or foreign: not an export of ours
        labels = ExportLabels.of(info.get("labels") or {})
        if labels is None or (labels.model, labels.version) != (model_name, str(number)):
            continue
        latest = info_file.parent.parent / "latest"
        is_latest = latest.is_file() and latest.read_text().strip() == info_file.parent.name
        found.append(
            StoredExport(
                tag=f"{info.get('name', info_file.parent.parent.name)}:{info_file.parent.name}",
                created=str(info.get("creation_time", "")),
                latest=is_latest,
            )
        )
    return sorted(found, key=lambda export: export.created, reverse=True)


def export_lines(model_name: str, number: int | str) -> list[tuple[str, str]]:
    """The end of `models --version N`: the version's exports in this machine's store."""
    exports = exports_of(model_name, number)
    if not exports:
        return [("bentoml export", f"not exported here (BentoML store {bentoml_store()})")]
    lines = []
    for export in exports:
        latest = "  <- latest: what `bentoml serve` loads" if export.latest else ""
        lines.append(("bentoml export", f"{export.tag} ({export.created}){latest}"))
    return lines
