"""Check a dataset against the configured schema and report every violation at once.

pandera runs the per-column rules; the few table-level rules it cannot phrase well
(delimiter, rows per class) are plain checks. No training starts on data that fails here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
from zenml import log_metadata, step

from steps.config_models import DatasetSpec

if TYPE_CHECKING:  # pandera is imported where data is checked: cached runs never load it
    import pandera.pandas as pa

MAX_LINES_SHOWN = 8

logger = logging.getLogger(__name__)


class DataValidationError(ValueError):
    """The data breaks the schema; the message lists every problem found."""


def _numbers(series: pd.Series) -> pd.Series:
    """Non-numbers become NaN, so each rule below judges only what it is about."""
    return pd.to_numeric(series, errors="coerce")


def _within(low: float, high: float) -> Callable[[pd.Series], pd.Series]:
    def check(series: pd.Series) -> pd.Series:
        numbers = _numbers(series)  # once: converting text is the costly part on big files
        return numbers.between(low, high) | ~np.isfinite(numbers)

    return check


def _feature_column(low: float, high: float) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column(
        nullable=False,
        checks=[
            pa.Check(lambda s: _numbers(s).notna(), name="must be a number"),
            pa.Check(lambda s: ~np.isinf(_numbers(s)), name="must be finite"),
            pa.Check(_within(low, high), name=f"must be within [{low:g}, {high:g}]"),
        ],
    )


def build_schema(spec: DatasetSpec, with_target: bool = True) -> pa.DataFrameSchema:
    """The pandera schema for the configured features (and target, for training data)."""
    import pandera.pandas as pa

    columns = {name: _feature_column(f.min, f.max) for name, f in spec.features.items()}
    if with_target:
        columns[spec.target] = pa.Column(
            nullable=False,
            checks=pa.Check(
                lambda s: s.astype(str).isin(spec.classes),
                name=f"must be one of {', '.join(spec.classes)}",
            ),
        )
    return pa.DataFrameSchema(columns, strict=False)


def _lines(index_values: pd.Series) -> str:
    """The frame's index holds CSV line numbers (see read_dataset)."""
    lines = sorted(int(i) for i in index_values.dropna())
    shown = ", ".join(map(str, lines[:MAX_LINES_SHOWN]))
    more = f" and {len(lines) - MAX_LINES_SHOWN} more" if len(lines) > MAX_LINES_SHOWN else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _describe(failures: pd.DataFrame, found: list[str]) -> list[str]:
    messages = []
    missing = failures[failures["check"] == "column_in_dataframe"]["failure_case"]
    for name in missing:
        messages.append(f"missing column {name!r} (the header has: {', '.join(found)})")
    rest = failures[failures["check"] != "column_in_dataframe"]
    for (column, check), group in rest.groupby(["column", "check"], sort=False):
        rule = "must not be empty" if check == "not_nullable" else check
        count = len(group)
        examples = ""
        if check != "not_nullable":
            values = list(dict.fromkeys(map(str, group["failure_case"])))[:3]
            examples = f" (values: {', '.join(map(repr, values))})"
        rows = "1 row breaks" if count == 1 else f"{count} rows break"
        messages.append(
            f"column {column!r}: {rows} the rule '{rule}' at {_lines(group['index'])}{examples}"
        )
    return messages


def _delimiter_hint(frame: pd.DataFrame) -> list[str]:
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for delimiter in (";", "\t", "|"):
            if delimiter in header:
                return [
                    f"the header is one column {header!r}: the file looks "
                    f"{delimiter!r}-delimited, but it must be comma-separated"
                ]
    return []


def _class_counts(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    if spec.target not in frame.columns:
        return []
    counts = frame[spec.target].astype(str).value_counts()
    messages = []
    for label in spec.classes:
        found = int(counts.get(label, 0))
        if found < spec.min_rows_per_class:
            messages.append(
                f"class {label!r} has {found} row{'s' if found != 1 else ''}; "
                f"at least {spec.min_rows_per_class} are required (min_rows_per_class)"
            )
    return messages


def find_violations(frame: pd.DataFrame, spec: DatasetSpec, with_target: bool = True) -> list[str]:
    """Every rule the frame breaks, one readable line each; empty when the data is valid."""
    from pandera.errors import SchemaErrors

    messages = _delimiter_hint(frame)
    if frame.empty:
        messages.append("the file has a header but no data rows")
    try:
        build_schema(spec, with_target).validate(frame, lazy=True)
    except SchemaErrors as errors:
        messages.extend(_describe(errors.failure_cases, list(map(str, frame.columns))))
    if with_target and not frame.empty:
        messages.extend(_class_counts(frame, spec))
    return messages


def validate_dataset(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    source: str,
    with_target: bool = True,
    outcome: str = "nothing was trained",
) -> pd.DataFrame:
    """The configured columns, features as floats; DataValidationError lists every problem."""
    violations = find_violations(frame, spec, with_target)
    if violations:
        listing = "\n".join(f"  - {message}" for message in violations)
        raise DataValidationError(
            f"{source}: {len(violations)} problem{'s' if len(violations) > 1 else ''} "
            f"found, {outcome}:\n{listing}"
        )
    columns = spec.columns if with_target else spec.feature_names
    clean = frame[columns].copy()
    clean[spec.feature_names] = clean[spec.feature_names].astype(float)
    if with_target:
        clean[spec.target] = clean[spec.target].astype(str)
    return clean


def note_duplicates(clean: pd.DataFrame, source: str) -> int:
    """Rows that repeat an earlier row in every configured column: a data-quality note.

    Not an error (Iris itself has one; repeated measurements happen), so they are kept and
    trained on; a warning names their lines, since a copy by mistake weighs those rows twice
    and can put the same row in both the train and the test split.
    """
    repeated = clean.index[clean.duplicated()]
    if len(repeated):
        rows = "1 duplicate row" if len(repeated) == 1 else f"{len(repeated)} duplicate rows"
        logger.warning(
            "%s: %s (%s, same values as an earlier row in every configured column); kept for "
            "training: remove %s if copied by mistake.",
            source,
            rows,
            _lines(pd.Series(repeated)),
            "it" if len(repeated) == 1 else "them",
        )
    return len(repeated)


@step
def validate_data(
    frame: pd.DataFrame, dataset: DatasetSpec
) -> Annotated[pd.DataFrame, "validated_data"]:
    """Check the raw data against the dataset spec; stop the run listing every problem.

    Takes: the raw frame and the dataset spec (columns, ranges, classes).
    Gives: `validated_data`, the configured columns with features as floats, and the
    number of duplicate rows (kept) as metadata.
    """
    clean = validate_dataset(frame, dataset, source=dataset.path)
    log_metadata(
        {"duplicate_rows": note_duplicates(clean, dataset.path)},
        artifact_name="validated_data",
        infer_artifact=True,
    )
    return clean
