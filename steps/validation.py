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

from steps.config_models import CategoricalFeature, DatasetSpec, NumericFeature

if TYPE_CHECKING:  # pandera is imported where data is checked: cached runs never load it
    import pandera.pandas as pa

MAX_LINES_SHOWN = 8

logger = logging.getLogger(__name__)


class DataValidationError(ValueError):
    """The data breaks the schema; the message lists every problem found."""


def _numbers(series: pd.Series) -> pd.Series:
    """Non-numbers become NaN, so each rule below judges only what it is about."""
    return pd.to_numeric(series, errors="coerce")


def _within(low: float | None, high: float | None) -> Callable[[pd.Series], pd.Series]:
    low = -np.inf if low is None else low
    high = np.inf if high is None else high

    def check(series: pd.Series) -> pd.Series:
        numbers = _numbers(series)  # once: converting text is the costly part on big files
        return numbers.between(low, high) | ~np.isfinite(numbers)

    return check


def _range_rule(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"must be within [{low:g}, {high:g}]"
    return f"must be at least {low:g}" if low is not None else f"must be at most {high:g}"


def _numeric_column(feature: NumericFeature) -> pa.Column:
    import pandera.pandas as pa

    checks = [
        pa.Check(lambda s: _numbers(s).notna(), name="must be a number"),
        pa.Check(lambda s: ~np.isinf(_numbers(s)), name="must be finite"),
    ]
    if feature.min is not None or feature.max is not None:
        checks.append(
            pa.Check(_within(feature.min, feature.max), name=_range_rule(feature.min, feature.max))
        )
    # Empty cells pass the checks (pandera leaves NaN to `nullable`): allowed where imputed.
    return pa.Column(nullable=feature.missing != "refuse", checks=checks)


def one_of(values: list[str]) -> str:
    """The rule's name: the values themselves, or how many when they are many."""
    if len(values) <= 12:
        return f"must be one of {', '.join(values)}"
    return f"must be one of the {len(values)} categories the config lists"


def _categorical_column(feature: CategoricalFeature, check_values: bool) -> pa.Column:
    import pandera.pandas as pa

    checks = []
    if check_values and not feature.learned:
        allowed = set(feature.categories)
        checks.append(pa.Check(lambda s: s.isin(allowed), name=one_of(feature.categories)))
    return pa.Column(nullable=feature.missing != "refuse", checks=checks)


def build_schema(spec: DatasetSpec, with_target: bool = True) -> pa.DataFrameSchema:
    """The pandera schema for the configured features (and target, for training data).

    A categorical's listed values are checked in training data; in new data (no target)
    only where the config refuses unknown values, since `unknown: ignore` takes them.
    """
    import pandera.pandas as pa

    columns = {}
    for name, feature in spec.features.items():
        if isinstance(feature, CategoricalFeature):
            columns[name] = _categorical_column(
                feature, check_values=with_target or feature.unknown == "refuse"
            )
        else:
            columns[name] = _numeric_column(feature)
    if with_target:
        columns[spec.target] = pa.Column(
            nullable=False,
            checks=pa.Check(lambda s: s.astype(str).isin(spec.classes), name=one_of(spec.classes)),
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


def _delimiter_hint(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for delimiter in (",", ";", "\t", "|"):
            if delimiter != spec.read.delimiter and delimiter in header:
                return [
                    f"the header is one column {header!r}: the file looks "
                    f"{delimiter!r}-delimited, but the config reads {spec.read.delimiter!r}-"
                    "delimited files (set dataset.read.delimiter)"
                ]
    return []


def _too_many_categories(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """A learned categorical with more values than `max_categories`: an ID or free text,
    which one-hot encoding would turn into that many columns."""
    messages = []
    for name, feature in spec.categorical.items():
        if feature.learned and name in frame.columns:
            distinct = frame[name].dropna().nunique()
            if distinct > spec.max_categories:
                messages.append(
                    f"column {name!r}: {distinct} distinct values, more than max_categories "
                    f"({spec.max_categories}) for a learned categorical; if it is an ID or "
                    "free text, move it to `ignore:`"
                )
    return messages


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

    messages = _delimiter_hint(frame, spec)
    if frame.empty:
        messages.append("the file has a header but no data rows")
    try:
        build_schema(spec, with_target).validate(frame, lazy=True)
    except SchemaErrors as errors:
        messages.extend(_describe(errors.failure_cases, list(map(str, frame.columns))))
    if with_target and not frame.empty:
        messages.extend(_class_counts(frame, spec))
    messages.extend(_too_many_categories(frame, spec))
    return messages


def validate_dataset(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    source: str,
    with_target: bool = True,
    outcome: str = "nothing was trained",
) -> pd.DataFrame:
    """The configured columns, numeric features as floats and categorical ones as text
    (missing values NaN, where the config imputes them); DataValidationError lists every
    problem."""
    violations = find_violations(frame, spec, with_target)
    if violations:
        listing = "\n".join(f"  - {message}" for message in violations)
        raise DataValidationError(
            f"{source}: {len(violations)} problem{'s' if len(violations) > 1 else ''} "
            f"found, {outcome}:\n{listing}"
        )
    columns = spec.columns if with_target else spec.feature_names
    clean = frame[columns].copy()
    numeric = list(spec.numeric)
    clean[numeric] = clean[numeric].astype(float)
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


def learn_categories(clean: pd.DataFrame, spec: DatasetSpec) -> DatasetSpec:
    """The spec with each `learned` categorical's values (sorted) from the validated data.

    Learned from the whole file before the split, so a value seen only in the test split or
    one CV fold is still a known category; the model, the service's enums and batch
    inference all hold to this resolved spec.
    """
    learned = {
        name: sorted(map(str, clean[name].dropna().unique()))
        for name, feature in spec.categorical.items()
        if feature.learned
    }
    return spec.with_categories(learned) if learned else spec


def missing_counts(clean: pd.DataFrame, spec: DatasetSpec) -> dict[str, int]:
    """Missing values per feature that has any (each one imputed by the model)."""
    counts = clean[spec.feature_names].isna().sum()
    return {name: int(count) for name, count in counts.items() if count}


@step
def validate_data(
    frame: pd.DataFrame, dataset: DatasetSpec
) -> tuple[Annotated[pd.DataFrame, "validated_data"], Annotated[DatasetSpec, "dataset_schema"]]:
    """Check the raw data against the dataset spec; stop the run listing every problem.

    Takes: the raw frame and the dataset spec (columns, kinds, ranges, categories, missing
    value policies, classes).
    Gives: `validated_data`, the configured columns (numeric ones as floats), with the
    duplicate rows (kept) and missing values (imputed by the model) as metadata;
    `dataset_schema`, the spec with learned categories resolved, which training, the
    export and batch inference follow.
    """
    clean = validate_dataset(frame, dataset, source=dataset.path)
    log_metadata(
        {
            "duplicate_rows": note_duplicates(clean, dataset.path),
            "missing_values": missing_counts(clean, dataset),
        },
        artifact_name="validated_data",
        infer_artifact=True,
    )
    return clean, learn_categories(clean, dataset)
