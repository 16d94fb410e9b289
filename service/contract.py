"""The service's request and response shapes, built from the exported model's metadata.

Built at start-up from the feature schema the training run recorded, so the OpenAPI
document shows the real fields and their ranges, and another dataset needs no code change.
No BentoML or ZenML here: the one-row command line imports it too and must stay quick.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

# strict: "5.1" is not a number; allow_inf_nan: NaN and inf are not measurements.
_NUMBERS_ONLY = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _value(feature: dict[str, Any]) -> Any:
    """A numeric feature: a float within its range (where one was set); a categorical one:
    one of its categories (an enum in the OpenAPI document), or any text where unknown
    categories are taken; either may be null where the model imputes missing values."""
    if feature.get("kind") == "categorical":
        if feature.get("unknown", "refuse") == "refuse":
            value: Any = Literal[tuple(feature["categories"])]
        else:
            value = Annotated[str, Field(examples=feature["categories"][:5])]
    else:
        value = Annotated[float, Field(ge=feature.get("min"), le=feature.get("max"))]
    return value | None if feature.get("nullable") else value


def _description(feature: dict[str, Any]) -> str:
    if feature.get("kind") == "categorical":
        listed = ", ".join(feature["categories"][:12])
        more = (
            f" and {len(feature['categories']) - 12} more"
            if len(feature["categories"]) > 12
            else ""
        )
        unknown = (
            "; other values count as none of them" if feature.get("unknown") == "ignore" else ""
        )
        text = f"one of {listed}{more}{unknown}"
    elif feature.get("min") is not None and feature.get("max") is not None:
        text = f"from {feature['min']} to {feature['max']}"
    elif feature.get("min") is not None:
        text = f"at least {feature['min']}"
    elif feature.get("max") is not None:
        text = f"at most {feature['max']}"
    else:
        text = "a number"
    return text + ("; null (or left out): the model fills it in" if feature.get("nullable") else "")


def record_model(features: list[dict[str, Any]]) -> type[BaseModel]:
    """One row: every feature a valid value (required unless the model imputes it)."""
    fields = {
        feature["name"]: (
            _value(feature),
            Field(
                default=None if feature.get("nullable") else ...,
                description=_description(feature),
            ),
        )
        for feature in features
    }
    return create_model("Record", __config__=_NUMBERS_ONLY, **fields)


def columns_model(features: list[dict[str, Any]], max_rows: int) -> type[BaseModel]:
    """Columns of equal length, one per feature: compact JSON for large batches."""
    names = [feature["name"] for feature in features]

    def same_length(columns: BaseModel) -> BaseModel:
        lengths = {name: len(getattr(columns, name)) for name in names}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns must have the same length, got {lengths}")
        return columns

    fields = {
        feature["name"]: (
            list[_value(feature)],
            Field(min_length=1, max_length=max_rows, description=_description(feature)),
        )
        for feature in features
    }
    return create_model(
        "Columns",
        __config__=_NUMBERS_ONLY,
        __validators__={"same_length": model_validator(mode="after")(same_length)},
        **fields,
    )


def is_numeric(features: list[dict[str, Any]]) -> bool:
    """Every feature a number: the model takes a float array (NaN for a missing value)."""
    return all(feature.get("kind", "numeric") == "numeric" for feature in features)


def _matrix(rows: list[list[Any]], numeric: bool) -> np.ndarray:
    """Floats when every feature is numeric (None becomes NaN); otherwise objects, with
    NaN for None, as the model's imputers look for it."""
    if numeric:
        return np.array(rows, dtype=float)
    matrix = np.array(rows, dtype=object)
    matrix[matrix == None] = np.nan  # noqa: E711  (element-wise: `is None` is one bool)
    return matrix


def records_matrix(records: list[BaseModel], names: list[str], numeric: bool = True) -> np.ndarray:
    return _matrix([[getattr(record, name) for name in names] for record in records], numeric)


def columns_matrix(columns: BaseModel, names: list[str], numeric: bool = True) -> np.ndarray:
    if numeric:
        return np.column_stack([np.asarray(getattr(columns, name), dtype=float) for name in names])
    rows = zip(*(getattr(columns, name) for name in names), strict=True)
    return _matrix([list(row) for row in rows], numeric=False)


def check_feature_order(classifier: Any, names: list[str]) -> None:
    """Fail at start-up, not with wrong answers, if the schema and the model disagree."""
    trained = [str(name) for name in getattr(classifier, "feature_names_in_", names)]
    if trained != names:
        raise ValueError(f"the model was trained on {trained}, the schema lists {names}")


def probabilities(classifier: Any, matrix: np.ndarray) -> np.ndarray:
    """One row of class probabilities per input row, in the classifier's class order.

    The matrix is built in training's column order (check_feature_order), so a plain array
    is passed: scikit-learn's DataFrame checks would triple the cost of a one-row call. Its
    warning about the missing feature names is silenced for this call only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return classifier.predict_proba(matrix)


def predicted_labels(probs: np.ndarray, classes: list[str]) -> tuple[list[str], np.ndarray]:
    """Each row's most likely class (the first in class order on a tie), and the
    probabilities rounded to 6 places: the one rule of the service and batch inference."""
    labels = np.asarray(classes, dtype=object)[probs.argmax(axis=1)].tolist()
    return labels, probs.round(6)


def as_records(probs: np.ndarray, classes: list[str]) -> list[dict[str, Any]]:
    """Each row's most likely class and every class's probability."""
    labels, rounded = predicted_labels(probs, classes)
    return [
        {"label": label, "probabilities": dict(zip(classes, row.tolist(), strict=True))}
        for label, row in zip(labels, rounded, strict=True)
    ]


def as_columns(probs: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """The same as columns: compact for large batches."""
    labels, rounded = predicted_labels(probs, classes)
    return {
        "labels": labels,
        "probabilities": {label: rounded[:, index].tolist() for index, label in enumerate(classes)},
    }
