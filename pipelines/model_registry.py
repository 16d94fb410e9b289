"""The model registry (ZenML's Model Control Plane), asked in one place: production's
version, a version's classifier and training run, a promotion by hand, and the versions
table of `python run.py models`.

The table is what ZenML's OSS dashboard does not show; it reads the metadata that
steps/promotion.py logs on each model version.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = (
    "version",
    "stage",
    "test acc",
    "cv score",
    "model family",
    "data md5",
    "run",
    "created",
    "hyperparameters",
)


class UnknownModel(Exception):
    """No model of this name in the active ZenML store."""


class ModelUnavailable(Exception):
    """A model version's classifier cannot be loaded; the message says which and why."""


def no_production(model_name: str) -> str:
    """Why there is nothing to export or predict with: no version was ever promoted."""
    from service.export_contract import NOTHING_PROMOTED

    return f"No production version of '{model_name}' in the ZenML store: {NOTHING_PROMOTED}"


def production_unavailable(error: Exception) -> str:
    """The one message for 'production cannot be loaded', wherever it is met."""
    return (
        f"The production model {error}.\nPromote a version this stack can load, e.g. the "
        "newest one: `python run.py promote N` (`python run.py models` lists them)."
    )


def production_version(model_name: str):
    """The model version now in production, or None when nothing was ever promoted."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        return Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def delete_unpromoted_version(run_name: str) -> None:
    """Delete the model version a (failed) run created, unless it is in production."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    client = Client()
    try:
        version = client.get_pipeline_run(run_name).model_version
    except KeyError:
        return
    if version is not None and version.stage != ModelStages.PRODUCTION.value:
        client.delete_model_version(version.id)


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


def set_production_by_hand(version, previous) -> None:
    """Make `version` production, recording when, by whom and what production was before."""
    from datetime import datetime, timezone

    from zenml import log_metadata
    from zenml.client import Client
    from zenml.enums import ModelStages

    log_metadata(
        {
            "manual_promotion": {
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "by": Client().active_user.name,  # the ZenML user (server or local)
                "previous_production": previous.number if previous else None,
            }
        },
        model_version_id=version.id,
    )
    version.set_stage(ModelStages.PRODUCTION, force=True)


def training_run_id(version) -> str:
    """The run that made the version, for versions promoted before `run_id` was logged."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(model_version_id=version.id, sort_by="asc:created", size=1)
    return str(runs.items[0].id) if runs.items else "-"


@dataclass(frozen=True)
class VersionRow:
    version: str
    stage: str
    test_accuracy: float | None
    cv_score: float | None
    family: str
    data_md5: str
    run: str
    created: str
    note: str  # the promotion decision, or the failure
    hyperparameters: str = "-"

    def cells(self) -> tuple[str, ...]:
        def number(value: float | None) -> str:
            return "-" if value is None else f"{value:.4f}"

        return (
            self.version,
            self.stage,
            number(self.test_accuracy),
            number(self.cv_score),
            self.family,
            self.data_md5,
            self.run,
            self.created,
            self.hyperparameters,
        )


def run_decision(meta: dict) -> str | None:
    """The training run's promotion decision, as the promotion step recorded it."""
    promotion = meta.get("promotion") or {}
    if not promotion:
        return None
    return ("promoted: " if promotion.get("promote") else "not promoted: ") + promotion.get(
        "reason", ""
    )


def manual_promotion(meta: dict) -> str | None:
    """When (and by whom, where recorded) the version was made production by hand."""
    manual = meta.get("manual_promotion")
    if not manual:
        return None
    by = f" by {manual['by']}" if manual.get("by") else ""
    return f"promoted by hand (`python run.py promote`){by} at {manual['at']}"


def version_row(version, run_name: str) -> VersionRow:
    """One model version as a row; versions of failed runs say where they failed."""
    meta = version.run_metadata
    if "failed_step" in meta:
        note = f"run failed at {meta['failed_step']}"
    else:
        note = manual_promotion(meta) or run_decision(meta) or "no promotion decision recorded"
    return VersionRow(
        version=str(version.number),
        stage=version.stage or "-",
        test_accuracy=meta.get("test_accuracy"),
        cv_score=cv_score(meta),
        family=meta.get("model_family", "-"),
        data_md5=meta.get("data_md5", "-"),
        run=run_name,
        created=version.created.strftime("%Y-%m-%d %H:%M:%S"),
        note=note,
        hyperparameters=format_hyperparameters(meta.get("hyperparameters")),
    )


def cv_score(meta: dict) -> float | None:
    """The version's CV score; versions from before the CV metric was a setting logged
    `cv_accuracy`."""
    return meta.get("cv_score", meta.get("cv_accuracy"))


def format_hyperparameters(values) -> str:
    """`C=10.0, penalty=l2` (sorted); "-" when none were logged, "defaults" when none searched."""
    if values is None:
        return "-"
    if not values:
        return "defaults"
    return ", ".join(f"{key}={value}" for key, value in sorted(values.items()))


def require_model(client, model_name: str) -> None:
    try:
        client.get_model(model_name)
    except KeyError:
        raise UnknownModel(
            f"There is no model '{model_name}' in the active ZenML store: train it first "
            "(`python run.py`), or name another one with --model."
        ) from None


def list_versions(model_name: str, limit: int) -> tuple[list[VersionRow], int]:
    """The newest `limit` versions as rows, and how many versions the model has in all."""
    from zenml.client import Client

    client = Client()
    require_model(client, model_name)
    page = client.list_model_versions(
        model=model_name, sort_by="desc:number", size=limit, hydrate=True
    )
    names = training_run_names(client, [version.id for version in page.items])
    rows = [
        version_row(version, names.get(version.id) or first_run_name(client, version.id))
        for version in page.items
    ]
    return rows, page.total


def training_run_names(client, version_ids: list) -> dict:
    """The training run that made each version, in one query instead of one per version.

    A version is made by exactly one run of the `training` pipeline (batch inference runs
    link to it later); a version this misses is looked up by first_run_name.
    """
    import json

    if not version_ids:
        return {}
    runs = client.list_pipeline_runs(
        pipeline_name="training",
        model_version_id="oneof:" + json.dumps([str(version_id) for version_id in version_ids]),
        sort_by="desc:created",
        size=len(version_ids),
    )
    # Newest first, so an older run of a version (there should be none) wins the dict.
    return {run.model_version.id: run.name for run in runs.items if run.model_version is not None}


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


def version_story(model_name: str, number: int) -> list[tuple[str, str]]:
    """One version's whole story as (field, value) lines: where it came from, how it
    scored, what was decided (`models --version` adds its exports: deploy/model_store.py).

    Raises UnknownModel for a model or version the active ZenML store does not hold.
    """
    from zenml.client import Client

    client = Client()
    require_model(client, model_name)
    try:
        version = client.get_model_version(model_name, number)
    except KeyError:
        newest = client.list_model_versions(model=model_name, sort_by="desc:number", size=1)
        raise UnknownModel(
            f"There is no version {number} of model '{model_name}' in the active ZenML "
            f"store: it has {newest.total} version(s), the newest is "
            f"{newest.items[0].number if newest.items else '-'} "
            f"(`python run.py models --model {model_name}` lists them)."
        ) from None
    meta = version.run_metadata
    run = first_run_name(client, version.id)
    run_id = meta.get("run_id")

    def metric(key: str, older_key: str = "") -> str:
        value = meta.get(key, meta.get(older_key))
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = [
        ("stage", version.stage or "none"),
        ("run", f"{run} ({run_id})" if run_id else run),
        ("created", version.created.strftime("%Y-%m-%d %H:%M:%S")),
        ("data md5", meta.get("data_md5", "not recorded")),
        ("data revision", describe_revision(meta.get("data_revision"))),
        ("dataset", meta.get("dataset_path", "not recorded")),
        ("model family", describe_family(meta)),
        ("hyperparameters", format_hyperparameters(meta.get("hyperparameters"))),
        (f"cv {meta.get('cv_metric', 'accuracy')}", metric("cv_score", "cv_accuracy")),
        ("test accuracy", metric("test_accuracy")),
        ("test balanced accuracy", metric("test_balanced_accuracy")),
        ("test macro F1", metric("test_macro_f1")),
        ("test ROC AUC", metric("test_roc_auc")),
        ("test rows", metric("test_rows")),
    ]
    for label, scores in (meta.get("per_class") or {}).items():
        lines.append(
            (
                f"  {label}",
                f"precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  "
                f"support {scores['support']}",
            )
        )
    if "failed_step" in meta:
        failure = f"{meta.get('failure_type', 'error')}: {meta.get('failure', '')}".strip()
        lines.append(("run failed", f"at {meta['failed_step']}: {failure}"))
    decision = run_decision(meta) or "no decision recorded (the run did not reach it)"
    lines.append(("promotion", decision))
    if manual := manual_promotion(meta):
        before = meta["manual_promotion"].get("previous_production")
        lines.append(
            ("by hand", manual + (f"; production before: version {before}" if before else ""))
        )
    return lines


def describe_revision(revision: str | None) -> str:
    if revision is None:
        return "not recorded"
    if revision == "unknown":
        return "unknown (the data was not DVC-tracked in a git repository)"
    if revision == "uncommitted":
        return "uncommitted (its .dvc file had changes not committed to git)"
    return f"{revision} (git commit of the data's .dvc file)"


def describe_family(meta: dict) -> str:
    family = meta.get("model_family", "-")
    return f"{family} ({meta['estimator']})" if meta.get("estimator") else family


def format_story(model_name: str, number: int, lines: list[tuple[str, str]]) -> str:
    width = max(len(field) for field, _ in lines)
    head = f"Model '{model_name}' version {number} (`model_version` in the service's /model)"
    return "\n".join([head, "", *(f"{field.ljust(width)}  {value}" for field, value in lines)])
