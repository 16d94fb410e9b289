"""The model registry: production's version, a version's classifier, and the versions table.

The table is what ZenML's OSS dashboard does not show; it reads the metadata that
steps/promotion.py logs on each model version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

COLUMNS = ("version", "stage", "test acc", "cv acc", "model family", "data md5", "run", "created")


class UnknownModel(Exception):
    """No model of this name in the active ZenML store."""


class ModelUnavailable(Exception):
    """A model version's classifier cannot be loaded; the message says which and why."""


def production_version(model_name: str):
    """The model version now in production, or None when nothing was ever promoted."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def model_version(model_name: str, number: int):
    """Version `number` of the model; UnknownModel names what exists when it does not."""
    from zenml.client import Client

    try:
        return Client().get_model_version(model_name, number)
    except KeyError:
        raise UnknownModel(
            f"There is no version {number} of model '{model_name}' in the active ZenML "
            "store: `python run.py models` lists them."
        ) from None


def reachable_classifier(version):
    """The version's classifier artifact, once its store answers and still holds it.

    The artifact may live in another stack's store: an S3 store is asked once, briefly, so
    a server that is gone fails in seconds rather than after minutes of retries.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    from stack.s3 import S3Unavailable, check_artifact_store

    what = f"'{version.model.name}' version {version.number}"
    artifact = version.get_artifact("classifier")
    if artifact is None:
        raise ModelUnavailable(f"{what} has no trained classifier (its run did not finish)")
    if artifact.artifact_store_id is None:
        return artifact
    try:
        component = Client().get_stack_component(
            StackComponentType.ARTIFACT_STORE, artifact.artifact_store_id
        )
        store = StackComponent.from_model(component)
        check_artifact_store(store)
        there = store.exists(artifact.uri)
    except KeyError:
        raise ModelUnavailable(
            f"{what} cannot be loaded: the artifact store that held it was deleted"
        ) from None
    except S3Unavailable as error:
        raise ModelUnavailable(f"{what} cannot be loaded: {error}") from None
    except Exception as error:  # whatever the store raised: the reason is what matters here
        raise ModelUnavailable(
            f"{what} cannot be loaded: {type(error).__name__}: {error}"
        ) from None
    if not there:
        raise ModelUnavailable(
            f"{what} cannot be loaded: {artifact.uri} is not there (deleted, or in a store "
            "that is out of reach from here)"
        )
    return artifact


def load_classifier(version):
    """The version's trained classifier, or ModelUnavailable saying why."""
    artifact = reachable_classifier(version)
    try:
        return artifact.load()
    except Exception as error:  # the store answered a moment ago: say what it raised now
        raise ModelUnavailable(
            f"'{version.model.name}' version {version.number} cannot be loaded from "
            f"{artifact.uri}: {type(error).__name__}: {error}"
        ) from None


@dataclass(frozen=True)
class VersionRow:
    version: str
    stage: str
    test_accuracy: float | None
    cv_accuracy: float | None
    family: str
    data_md5: str
    run: str
    created: str
    note: str  # the promotion decision, or the failure

    def cells(self) -> tuple[str, ...]:
        def number(value: float | None) -> str:
            return "-" if value is None else f"{value:.4f}"

        return (
            self.version,
            self.stage,
            number(self.test_accuracy),
            number(self.cv_accuracy),
            self.family,
            self.data_md5,
            self.run,
            self.created,
        )


def model_name_from_config(config_path: Path) -> str:
    return yaml.safe_load(config_path.read_text())["model"]["name"]


def version_row(version, run_name: str) -> VersionRow:
    """One model version as a row; versions of failed runs say where they failed."""
    meta = version.run_metadata
    promotion = meta.get("promotion") or {}
    if "failed_step" in meta:
        note = f"run failed at {meta['failed_step']}"
    elif manual := meta.get("manual_promotion"):
        note = f"promoted by hand (`python run.py promote`) at {manual['at']}"
    elif promotion:
        note = ("promoted: " if promotion.get("promote") else "not promoted: ") + promotion.get(
            "reason", ""
        )
    else:
        note = "no promotion decision recorded"
    return VersionRow(
        version=str(version.number),
        stage=version.stage or "-",
        test_accuracy=meta.get("test_accuracy"),
        cv_accuracy=meta.get("cv_accuracy"),
        family=meta.get("model_family", "-"),
        data_md5=meta.get("data_md5", "-"),
        run=run_name,
        created=version.created.strftime("%Y-%m-%d %H:%M:%S"),
        note=note,
    )


def list_versions(model_name: str, limit: int) -> list[VersionRow]:
    from zenml.client import Client

    client = Client()
    try:
        client.get_model(model_name)
    except KeyError:
        raise UnknownModel(
            f"There is no model '{model_name}' in the active ZenML store: train it first "
            "(`python run.py`), or name another one with --model."
        ) from None
    page = client.list_model_versions(
        model=model_name, sort_by="desc:number", size=limit, hydrate=True
    )
    return [version_row(version, first_run_name(client, version.id)) for version in page.items]


def first_run_name(client, version_id) -> str:
    """The run that made the version (later runs may link to it too, e.g. predictions)."""
    runs = client.list_pipeline_runs(model_version_id=version_id, sort_by="asc:created", size=1)
    return runs.items[0].name if runs.items else "-"


def format_table(rows: list[VersionRow], with_notes: bool = True) -> str:
    table = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for index, line in enumerate(table):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
        if index and with_notes:
            lines.append(f"    {rows[index - 1].note}")
    return "\n".join(lines)
