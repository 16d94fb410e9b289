"""One row, predicted straight from the newest BentoML export (`python run.py predict 5.1 ...`).

No ZenML and no BentoML import on this interactive path: the export's files are read as
they are (deploy/model_store.py) and the row is checked by the service's own contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.model_store import latest_export


class BadRow(ValueError):
    """The values do not fit the model's schema; the message says how (a usage error)."""


@dataclass(frozen=True)
class RowPrediction:
    label: str
    probability: float
    version: str  # the ZenML model version, "?" for an export without lineage labels


MISSING_MARKERS = ("", "NA", "null")  # what a command line can type for a missing value


def parse_values(values: tuple[str, ...], features: list[dict]) -> dict[str, object]:
    """The typed values: numbers for numeric features, text for categorical ones, None
    for a missing-value marker (the schema then says whether the model fills it in)."""
    parsed: dict[str, object] = {}
    for text, feature in zip(values, features, strict=True):
        name = feature["name"]
        if text.strip() in MISSING_MARKERS:
            parsed[name] = None
        elif feature.get("kind") == "categorical":
            parsed[name] = text
        else:
            try:
                parsed[name] = float(text)
            except ValueError:
                raise BadRow(f"{name}: {text!r} is not a number") from None
    return parsed


def predict_row(values: tuple[str, ...], model_name: str) -> RowPrediction:
    """The production export's label for one row; NoServingModel when nothing was exported."""
    from pydantic import ValidationError

    from service.contract import (
        as_records,
        check_feature_order,
        is_numeric,
        probabilities,
        record_model,
        records_matrix,
    )
    from service.export_contract import ExportLabels, ExportMetadata

    export = latest_export(model_name)
    metadata = ExportMetadata.model_validate(export.metadata)
    features, names = metadata.feature_dicts(), metadata.feature_names
    if len(values) != len(names):
        raise BadRow(f"expected {len(names)} values ({' '.join(names)}), got {len(values)}")
    try:
        record = record_model(features)(**parse_values(values, features))
    except ValidationError as error:
        raise BadRow("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())) from None
    classifier = export.load()
    check_feature_order(classifier, names)
    probs = probabilities(classifier, records_matrix([record], names, is_numeric(features)))
    prediction = as_records(probs, metadata.classes)[0]
    labels = ExportLabels.of(export.labels)
    return RowPrediction(
        label=prediction["label"],
        probability=prediction["probabilities"][prediction["label"]],
        version=labels.version if labels else "?",
    )
