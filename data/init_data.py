"""Infer a training config from a CSV: what `python run.py init-data FILE.csv` writes.

A new user has a table and no config. These plain functions read it the way
steps/data.py's `read_dataset` does (every cell as text, only the detected NA markers
missing), guess each column's kind, pick metrics for the label's balance, and write a copy
of configs/training.yaml with that dataset block, one the user reviews and trains on with
no edit. No ZenML and no click here: run.py's `init-data` only parses options and prints.
"""

from __future__ import annotations

import copy
import csv
import datetime
import io
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipelines.project_paths import CONFIGS, DEFAULT_CONFIG, PROJECT_ROOT
from steps.config_models import check_training_config, estimator_param_names, load_class

DELIMITERS = (",", ";", "\t", "|")  # the first wins a tie
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
NA_MARKERS = ("", "NA", "N/A", "null", "NULL", "NaN", "nan", "?", "-")
SNIFF_BYTES = 1 << 16
SNIFF_ROWS = 50
MAX_CLASSES = 50  # more distinct labels than this looks like a regression target
MAX_CATEGORIES = 50  # a text column with more distinct values is left out (high cardinality)
ID_MIN_VALUES = 20  # fewer values than this can all differ by chance: not called an ID
IMBALANCE_RATIO = 0.3  # smallest class under 30 % of the largest: an imbalanced label
MAX_ROWS_PER_CLASS = 10
GATE_MARGIN = 0.1  # the gate: this much above chance (1 / number of classes)
MODEL_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")  # BentoML and ZenML both take it


class InitDataError(ValueError):
    """The CSV (or an option) cannot give a config that trains; the message says why."""


@dataclass
class Inference:
    """What the CSV says: how to read it and the dataset block, with what to tell the user."""

    read: dict[str, Any]
    columns: list[str]
    rows: int
    target: str
    class_counts: dict[str, int]
    features: dict[str, dict[str, Any]]
    ignored: dict[str, str]  # column -> why it is not a feature
    missing: dict[str, int]  # feature -> missing values
    header_found: str  # how the header row was decided: "detected", "given", ...
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def imbalanced(self) -> bool:
        counts = self.class_counts.values()
        return min(counts) < IMBALANCE_RATIO * max(counts)

    def kind_of(self, kind: str) -> list[str]:
        return [n for n, f in self.features.items() if f.get("type", "numeric") == kind]


# --- reading -------------------------------------------------------------------------------


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first rows into the same number (> 1) of fields.

    Among those, the one giving the most fields; a comma when none does (one column).
    csv.reader, not a character count, so quoted fields holding a delimiter do not count.
    """
    best, best_score = ",", (False, 0)
    for delimiter in DELIMITERS:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))[:SNIFF_ROWS]
        widths = {len(row) for row in rows if row}
        score = (len(widths) == 1 and max(widths) > 1, max(widths, default=0))
        if score > best_score:
            best, best_score = delimiter, score
    return best if best_score[0] else ","


def read_text_table(path: Path, delimiter: str) -> pd.DataFrame:
    """Every row, the first included, as text: no cell is missing yet (header=None)."""
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=None,
            index_col=False,
            dtype=str,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=True,  # as read_dataset reads it
        )
    except UnicodeDecodeError as error:
        raise InitDataError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8 "
            "(a compressed file must be decompressed first)."
        ) from error
    except pd.errors.EmptyDataError as error:
        raise InitDataError(f"{path}: the file is empty.") from error
    except (pd.errors.ParserError, csv.Error) as error:
        name = DELIMITER_NAMES[delimiter]
        raise InitDataError(f"{path}: not a {name}-separated table: {error}") from error
    if len(frame.columns) < 2:
        raise InitDataError(
            f"{path}: one column only (read as {DELIMITER_NAMES[delimiter]}-separated); a "
            "training table needs a target and at least one feature."
        )
    return frame


def present_na_markers(frame: pd.DataFrame) -> list[str]:
    """The common NA markers some cell holds, "" always first (the project's default)."""
    seen = set(pd.unique(frame.to_numpy().ravel()))
    return ["", *(marker for marker in NA_MARKERS[1:] if marker in seen)]


def as_numbers(values: pd.Series) -> pd.Series | None:
    """The values as floats when every one is a finite number (as validation converts
    them), else None."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return None
    return numbers.astype(float)


def detect_header(frame: pd.DataFrame, na_values: list[str]) -> bool:
    """Whether the first row names the columns.

    A text field on top of a column of numbers is a name; a number on top of one is data;
    so is a text field that recurs further down its column (a label such as Iris-setosa).
    A header wins any disagreement, and a table of text alone is taken to have one.
    """
    first, rest = frame.iloc[0], frame.iloc[1:]
    names = data = 0
    for column in frame.columns:
        if first[column] in na_values:
            continue
        values = rest[column][~rest[column].isin(na_values)]
        if values.empty:
            continue
        if as_numbers(values) is not None:
            if as_numbers(pd.Series([first[column]])) is None:
                names += 1
            else:
                data += 1
        elif (values == first[column]).any():
            data += 1
    return names > 0 or data == 0


def column_names(
    frame: pd.DataFrame, header: bool, names: list[str] | None, path: Path
) -> list[str]:
    """The header's names, or --names, or column_1..column_N; distinct and not empty."""
    width = len(frame.columns)
    if header:
        found = [str(name).strip() for name in frame.iloc[0]]
        if empty := [str(i + 1) for i, name in enumerate(found) if not name]:
            raise InitDataError(
                f"{path}: the header row has no name for column {', '.join(empty)}: name it in "
                "the file, or pass --no-header --names if the first row is data."
            )
    elif names:
        if len(names) != width:
            raise InitDataError(
                f"--names gives {len(names)} names, but {path} has {width} columns."
            )
        found = names
    else:
        found = [f"column_{i}" for i in range(1, width + 1)]
    if not all(found):
        raise InitDataError(f"--names {','.join(found)}: a name is empty.")
    if repeated := sorted({name for name in found if found.count(name) > 1}):
        raise InitDataError(f"{path}: column names repeat: {', '.join(repeated)}.")
    return found


def read_table(
    path: Path, header: bool | None = None, names: list[str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """The table as training reads it (missing cells NaN), its `read:` block, and how the
    header row was decided. `header` None: detected; `names` imply no header row."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
    if len(sample) == SNIFF_BYTES:
        sample = sample[: sample.rfind("\n") + 1] or sample  # no half line
    delimiter = sniff_delimiter(sample)
    raw = read_text_table(path, delimiter)
    na_values = present_na_markers(raw)
    if names and header:
        raise InitDataError("--names names the columns of a file without a header row.")
    header_found = "given" if header is not None else "--names" if names else "detected"
    if header is None:
        header = False if names else detect_header(raw, na_values)
    raw.columns = column_names(raw, header, names, path)
    frame = raw.iloc[1:] if header else raw
    frame = frame.mask(frame.isin(na_values)).dropna(how="all")  # blank rows carry nothing
    read: dict[str, Any] = {"header": header}
    if not header:
        read["columns"] = list(raw.columns)
    read |= {"delimiter": delimiter, "na_values": na_values}
    return frame, read, header_found


# --- inference -------------------------------------------------------------------------------


def class_counts(frame: pd.DataFrame, target: str, path: Path) -> dict[str, int]:
    """Rows per label (labels as text, sorted); refused when it is not a classification label."""
    if target not in frame.columns:
        raise InitDataError(
            f"{path}: no column {target!r} to predict (--target); the columns are: "
            f"{', '.join(frame.columns)}."
        )
    labels = frame[target]
    if missing := int(labels.isna().sum()):
        raise InitDataError(
            f"{path}: the target {target!r} is missing on {missing} row"
            f"{'s' if missing > 1 else ''} (empty or an NA marker); training needs every "
            "row's label: remove those rows, or choose another --target."
        )
    counts = labels.value_counts()
    if len(counts) < 2:
        only = f" (every row is {counts.index[0]!r})" if len(counts) else ""
        raise InitDataError(
            f"{path}: the target {target!r} has {len(counts)} class{only}; a classifier "
            "needs at least 2. Choose another --target."
        )
    if len(counts) > MAX_CLASSES:
        raise InitDataError(
            f"{path}: the target {target!r} has {len(counts)} distinct values, more than "
            f"{MAX_CLASSES}: it looks like a number to regress, not classes. This project "
            "trains classifiers: choose another --target, or bin the values into classes."
        )
    return {str(label): int(counts[label]) for label in sorted(counts.index, key=str)}


def infer_column(values: pd.Series) -> tuple[dict[str, Any] | None, str]:
    """(feature spec, "") for a usable column, or (None, why it is left out)."""
    present = values.dropna()
    distinct = present.nunique()
    if present.empty:
        return None, "every value is missing"
    if distinct == 1:
        return None, f"constant: every value is {present.iloc[0]!r}"
    all_distinct = distinct == len(present) and len(present) >= ID_MIN_VALUES
    numbers = as_numbers(present)
    if numbers is not None:
        if all_distinct and (numbers == numbers.round()).all():
            return None, "ID-like: every value is a distinct integer"
        spec: dict[str, Any] = {"min": float(numbers.min()), "max": float(numbers.max())}
        if len(present) < len(values):
            spec["missing"] = "median"
        return spec, ""
    if all_distinct:
        return None, "ID-like: every value is distinct text"
    if distinct > MAX_CATEGORIES:
        return None, (
            f"high cardinality: {distinct} distinct text values (more than {MAX_CATEGORIES}); "
            "one-hot encoding makes one column per value. To use it anyway, add it to "
            "`features:` as {type: categorical, categories: learned} and raise "
            "`max_categories`, or derive a coarser column from it"
        )
    spec = {"type": "categorical", "categories": sorted(map(str, present.unique()))}
    if len(present) < len(values):
        spec["missing"] = "most_frequent"
    return spec, ""


def infer_dataset(
    path: Path,
    target: str | None = None,
    header: bool | None = None,
    names: list[str] | None = None,
) -> Inference:
    """Read the CSV and infer the read options, label and features (see the module doc)."""
    frame, read, header_found = read_table(path, header, names)
    if frame.empty:
        raise InitDataError(f"{path}: no data rows (only a header row).")
    target = target or str(frame.columns[-1])
    counts = class_counts(frame, target, path)
    features: dict[str, dict[str, Any]] = {}
    ignored: dict[str, str] = {}
    missing: dict[str, int] = {}
    warnings: list[str] = []
    notes: list[str] = []
    for name in frame.columns:
        if name == target:
            continue
        spec, why = infer_column(frame[name])
        if spec is None:
            ignored[name] = why
            warnings.append(f"column {name!r} is left out (in `ignore:`): {why}.")
            continue
        features[name] = spec
        if count := int(frame[name].isna().sum()):
            missing[name] = count
            notes.append(
                f"column {name!r}: {count} missing value{'s' if count > 1 else ''} "
                f"({count / len(frame):.1%}), filled in with the "
                f"{spec['missing'].replace('_', ' ')} (missing: {spec['missing']})."
            )
    if not features:
        raise InitDataError(
            f"{path}: no column is usable as a feature; "
            + "; ".join(f"{name}: {why}" for name, why in ignored.items())
            + "."
        )
    if header_found == "detected" and not read["header"]:
        notes.append(
            "no header row found: the first row is data, the columns are named column_1 "
            "onwards; --names a,b,c names them, --header reads the first row as names."
        )
    if len(read["na_values"]) > 1:
        markers = ", ".join(repr(m) for m in read["na_values"][1:])
        notes.append(
            f"read as missing: empty cells and {markers} (read.na_values); remove a marker "
            "that is a real value."
        )
    inference = Inference(
        read,
        list(frame.columns),
        len(frame),
        target,
        counts,
        features,
        ignored,
        missing,
        header_found,
        warnings,
        notes,
    )
    if inference.imbalanced:
        smallest, largest = min(counts, key=counts.get), max(counts, key=counts.get)
        inference.warnings.append(
            f"the label is imbalanced: class {smallest!r} has {counts[smallest]} rows, "
            f"{counts[smallest] / counts[largest]:.0%} as many as {largest!r} "
            f"({counts[largest]}); "
            "metrics that weigh every class alike are chosen, and class_weight: balanced "
            "where the estimator takes it."
        )
    return inference


def rows_per_class(counts: dict[str, int], test_size: float, cv_folds: int) -> int:
    """min_rows_per_class: the largest value up to 10 the smallest class reaches that
    still lets every class reach the test split and each CV fold (TrainingParameters'
    `_enough_rows_per_class`)."""

    def enough(rows: int) -> bool:
        return rows * test_size >= 1 and rows * (1 - test_size) >= cv_folds

    needed = next(rows for rows in range(1, 1_000_000) if enough(rows))
    label = min(counts, key=counts.get)
    if counts[label] < needed:
        raise InitDataError(
            f"class {label!r} has {counts[label]} row{'s' if counts[label] != 1 else ''}; with "
            f"split.test_size {test_size} and cv_folds {cv_folds} every class needs at least "
            f"{needed}, to reach the test split and each CV fold. Collect more rows of it, "
            "merge it into another class, or remove its rows."
        )
    return min(counts[label], max(MAX_ROWS_PER_CLASS, needed))


def metrics_for(inference: Inference) -> dict[str, Any]:
    """cv_metric and the quality gate, one metric for both: accuracy for a balanced label,
    balanced accuracy for an imbalanced one (selecting by ROC AUC and gating on balanced
    accuracy picked churn models that rank well but rarely predict the rare class). The
    gate sits a little above chance."""
    classes = len(inference.class_counts)
    cv_metric = gate = "balanced_accuracy" if inference.imbalanced else "accuracy"
    min_value = round(1 / classes + GATE_MARGIN, 2)
    return {"cv_metric": cv_metric, "quality_gate": {"metric": gate, "min_value": min_value}}


def balanced_candidates(candidates: dict[str, Any]) -> dict[str, Any]:
    """The candidates with class_weight: balanced where the estimator has that parameter."""
    result = copy.deepcopy(candidates)
    for spec in result.values():
        accepted = estimator_param_names(load_class(spec["estimator"])) or set()
        if "class_weight" in accepted and "class_weight" not in spec.get("search_space", {}):
            spec["params"] = {**(spec.get("params") or {}), "class_weight": "balanced"}
    return result


# --- the config -----------------------------------------------------------------------------


def model_name_from(text: str) -> str:
    """A model name BentoML and ZenML take: lower case, [a-z0-9_], starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"model_{name}".rstrip("_")
    return name


def check_model_name(name: str) -> str:
    if not MODEL_NAME.match(name):
        raise InitDataError(
            f"--model-name {name!r}: use lower case letters, digits and single underscores, "
            f"starting with a letter (e.g. {model_name_from(name)!r})."
        )
    return name


def dataset_path_for(csv_path: Path) -> str:
    """Relative to the project root when the file is inside it (as configs read paths),
    else absolute."""
    absolute = csv_path.expanduser().resolve()
    try:
        return absolute.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(absolute)


def build_config(
    inference: Inference, template: dict[str, Any], model_name: str, data_path: str
) -> dict[str, Any]:
    """The template config (configs/training.yaml) with this data's model and dataset."""
    config = copy.deepcopy(template)
    parameters = config["parameters"]
    config["model"] = {
        **config.get("model", {}),
        "name": model_name,
        "description": (
            f"Predicts {inference.target} from {Path(data_path).name}; "
            "trained and promoted by the training pipeline."
        ),
        "tags": ["tabular", "classification"],
    }
    dataset: dict[str, Any] = {
        "path": data_path,
        "target": inference.target,
        "classes": list(inference.class_counts),
        "min_rows_per_class": rows_per_class(
            inference.class_counts, parameters["split"]["test_size"], parameters["cv_folds"]
        ),
        "read": dict(inference.read),
        "features": copy.deepcopy(inference.features),
    }
    if inference.ignored:
        dataset["ignore"] = list(inference.ignored)
    parameters["dataset"] = dataset
    parameters.update(metrics_for(inference))
    if inference.imbalanced:
        parameters["candidates"] = balanced_candidates(parameters["candidates"])
    return config


class _NoAliases(yaml.SafeDumper):
    """safe_dump's dumper, writing a repeated object in full instead of as &anchor/*alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_config(config: dict[str, Any], source: str, inference: Inference, today: str) -> str:
    """The YAML, under a comment block: where it came from, and what to review."""
    lines = [
        f"Written by `python run.py init-data` from {source} on {today}.",
        "Review it before training: the kinds, ranges and categories are what this file holds",
        "(widen a range or add a category that new data may have); then raise the quality gate.",
    ]
    review = [*inference.warnings, *inference.notes]
    if review:
        lines.append("")
        lines.append("To review:")
        for item in review:
            wrapped = textwrap.wrap(item, width=94)
            lines += [f"- {wrapped[0]}", *(f"  {rest}" for rest in wrapped[1:])]
    header = "".join(f"# {line}".rstrip() + "\n" for line in lines)
    body = yaml.dump(
        config,
        Dumper=_NoAliases,
        sort_keys=False,
        default_flow_style=None,  # a list of values on one line, as configs/training.yaml
        allow_unicode=True,
        width=100,
    )
    gate_comment = "# a little above chance, so a first run passes: raise it to what you need"
    body = re.sub(r"^(  quality_gate:.*)$", rf"  {gate_comment}\n\1", body, flags=re.MULTILINE)
    return header + "\n" + body


def write_config(text: str, output: Path) -> None:
    """Write the config only once check_training_config accepts it: a refusal is a bug here."""
    from steps.config_models import ConfigError

    output.parent.mkdir(parents=True, exist_ok=True)
    draft = output.with_name(f".{output.name}.init-data")
    draft.write_text(text)
    try:
        check_training_config(draft)
    except ConfigError as error:
        draft.unlink()
        raise RuntimeError(
            f"init-data wrote a config that check_training_config refuses (a bug in "
            f"data/init_data.py, please report it):\n{error}"
        ) from error
    os.replace(draft, output)


def init_data(
    csv_path: Path,
    target: str | None = None,
    header: bool | None = None,
    names: list[str] | None = None,
    model_name: str | None = None,
    output: Path | None = None,
    force: bool = False,
    template_path: Path = DEFAULT_CONFIG,
    today: str | None = None,
) -> tuple[Path, Inference]:
    """Infer, build, check and write the config; (where it went, what was inferred)."""
    model_name = check_model_name(model_name) if model_name else model_name_from(csv_path.stem)
    output = output or CONFIGS / f"{model_name}.yaml"
    if output.exists() and not force:
        raise InitDataError(f"{output} exists: pass --force to overwrite it, or another --output.")
    inference = infer_dataset(csv_path, target, header, names)
    template = yaml.safe_load(Path(template_path).read_text())
    data_path = dataset_path_for(csv_path)
    config = build_config(inference, template, model_name, data_path)
    today = today or datetime.date.today().isoformat()
    write_config(render_config(config, data_path, inference, today), output)
    return output, inference


def shown_path(path: Path) -> str:
    """The path as the user would type it from here: relative to the current folder if inside."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)


def format_summary(inference: Inference, output: Path) -> str:
    """What was inferred, in a few lines, ending with the command that trains on it."""
    read = inference.read
    header = "yes" if read["header"] else "no"
    lines = [
        f"Read {inference.rows} rows, {len(inference.columns)} columns "
        f"({DELIMITER_NAMES[read['delimiter']]}-separated; header row: {header}, "
        f"{inference.header_found}).",
    ]
    counts = ", ".join(f"{label} {count}" for label, count in inference.class_counts.items())
    balance = " (imbalanced)" if inference.imbalanced else ""
    lines.append(f"  target       {inference.target}: {counts}{balance}")
    for kind in ("numeric", "categorical"):
        if found := inference.kind_of(kind):
            lines.append(f"  {kind:<12} {', '.join(found)}")
    for name, why in inference.ignored.items():
        lines.append(f"  {'ignored':<12} {name}: {why.split(':')[0]}")
    if inference.missing:
        found = ", ".join(f"{name} {count}" for name, count in inference.missing.items())
        lines.append(f"  {'missing':<12} {found} (filled in; see the config)")
    lines += [
        f"Wrote {shown_path(output)}: review it, then train:",
        f"  python run.py --config {shown_path(output)}",
    ]
    return "\n".join(lines)
