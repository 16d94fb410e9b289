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


def predict_row(values: tuple[float, ...], model_name: str) -> RowPrediction:
    """The production export's label for one row; NoServingModel when nothing was exported."""
    from pydantic import ValidationError

    from service.contract import (
        as_records,
        check_feature_order,
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
        record = record_model(features)(**dict(zip(names, values, strict=True)))
    except ValidationError as error:
        raise BadRow("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())) from None
    classifier = export.load()
    check_feature_order(classifier, names)
    probs = probabilities(classifier, records_matrix([record], names))
    prediction = as_records(probs, metadata.classes)[0]
    labels = ExportLabels.of(export.labels)
    return RowPrediction(
        label=prediction["label"],
        probability=prediction["probabilities"][prediction["label"]],
        version=labels.version if labels else "?",
    )
