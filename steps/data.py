"""Load the raw CSV and split it: plain functions, then the steps that wrap them."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path
from typing import Annotated

import pandas as pd
from sklearn.model_selection import train_test_split
from zenml import log_metadata, step

from steps.config_models import DatasetSpec, ReadOptions, SplitSpec
from steps.validation import DataValidationError


def file_md5(path: str | Path) -> str:
    """The md5 DVC records for a file, so a run can be matched to `dvc.lock`."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The first bytes of compressed files, whatever the file is named.
COMPRESSION_MAGIC = {
    b"\x1f\x8b": ("gzip", "gunzip -c FILE > plain.csv"),
    b"PK\x03\x04": ("zip", "unzip FILE"),
    b"PK\x05\x06": ("zip", "unzip FILE"),  # an empty archive
    b"BZh": ("bzip2", "bunzip2 -c FILE > plain.csv"),
    b"\xfd7zXZ\x00": ("xz", "unxz -c FILE > plain.csv"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd -c FILE -o plain.csv"),
}


def compression_of(path: str | Path) -> tuple[str, str] | None:
    """(format, command that decompresses it) when the file starts like a compressed one."""
    with open(path, "rb") as handle:
        head = handle.read(10)
    for magic, found in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            # bzip2 is only "BZh", a level digit and the block magic: not text that starts "BZh"
            if found[0] == "bzip2" and not (head[3:4].isdigit() and head[4:10] == b"1AY&SY"):
                continue
            return found
    return None


def check_data_file(path: str | Path, shown_as: str | None = None) -> None:
    """The file a run is asked to read exists and is plain text (not compressed).

    Checked on the client before anything runs, and again where a step reads it. A
    compressed file is refused rather than read: the CSV is what DVC versions and what a
    user opens, so it stays one plain format.
    """
    path = Path(path)
    if not path.exists():
        raise DataValidationError(
            f"{path}: file not found. Get the data with `make data` (or `dvc pull`)."
        )
    if not path.is_file():
        raise DataValidationError(f"{path}: not a file.")
    if compressed := compression_of(path):
        kind, command = compressed
        raise DataValidationError(
            f"{shown_as or path}: the file is compressed ({kind}), not CSV text: decompress it "
            f"first (e.g. `{command.replace('FILE', path.name)}`) and use the result."
        )


DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def separated(read: ReadOptions) -> str:
    """`comma-separated`, as messages name the file's format."""
    return f"{DELIMITER_NAMES.get(read.delimiter, repr(read.delimiter))}-separated"


def first_row(path: Path, read: ReadOptions) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [name.strip() for name in next(csv.reader(handle, delimiter=read.delimiter), [])]


def _check_first_row(first: list[str], read: ReadOptions, shown: str) -> None:
    """The header's names are distinct; a headerless file has as many fields as names."""
    if not any(first):
        raise DataValidationError(f"{shown}: the file is empty (no header, no rows).")
    if read.header:
        repeated = [name for name, count in Counter(first).items() if count > 1]
        if repeated:
            names = ", ".join(map(repr, repeated))
            raise DataValidationError(f"{shown}: duplicated column names in the header: {names}.")
    elif read.columns is not None and len(first) != len(read.columns):
        raise DataValidationError(
            f"{shown}: line 1 has {len(first)} fields, but dataset.read.columns names "
            f"{len(read.columns)} ({', '.join(read.columns)}); with header: false, name every "
            "column in file order."
        )


def read_dataset(
    path: str | Path, shown_as: str | None = None, read: ReadOptions | None = None
) -> pd.DataFrame:
    """Read a CSV as text, indexed by its line numbers so errors can point at them.

    `shown_as` is what messages call the file: the user's own path, when `path` is the copy a
    step got from the artifact store. `read` is the config's reading options (header or
    column names, delimiter, NA markers). Problems that stop the file being a table at all
    become DataValidationError; the values themselves are judged by validation, which also
    turns numeric features into numbers.
    """
    read = read or ReadOptions()
    check_data_file(path, shown_as)
    path = Path(path)
    shown = shown_as or str(path)
    try:
        _check_first_row(first_row(path, read), read, shown)
        frame = pd.read_csv(
            path,
            sep=read.delimiter,
            header=0 if read.header else None,
            names=None if read.header else read.columns,
            index_col=False,
            dtype=str,  # labels such as "01" or "NA" stay labels unless listed as NA markers
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values=read.na_values,
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{shown}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8."
        ) from error
    except (pd.errors.ParserError, csv.Error) as error:
        raise DataValidationError(f"{shown}: not a {separated(read)} table: {error}") from error
    frame.columns = frame.columns.str.strip()
    frame.index = frame.index + (2 if read.header else 1)  # line numbers: 1 is the header
    return frame.dropna(how="all")  # blank lines carry nothing


def split_dataset(
    frame: pd.DataFrame, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded split; the index is reset so each part stands alone."""
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[target]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


@step
def load_data(
    data_file: Path, dataset: DatasetSpec, data_md5: str
) -> Annotated[pd.DataFrame, "raw_data"]:
    """Read the raw dataset.

    Takes: `data_file`, the client's CSV as an artifact (so the step reads it wherever it
    runs); the dataset spec; `data_md5`, the md5 DVC records (lineage), checked against
    the bytes that arrived.
    Gives: `raw_data`, the file as read (index = CSV line numbers), with its md5, row
    count and path as metadata.
    """
    actual_md5 = file_md5(data_file)
    if actual_md5 != data_md5:
        raise DataValidationError(
            f"{dataset.path}: the stored copy has md5 {actual_md5}, not {data_md5}."
        )
    frame = read_dataset(data_file, shown_as=dataset.path, read=dataset.read)
    log_metadata(
        {"data_md5": data_md5, "rows": len(frame), "path": dataset.path},
        artifact_name="raw_data",
        infer_artifact=True,
    )
    return frame


@step
def split_data(
    frame: pd.DataFrame, dataset: DatasetSpec, split: SplitSpec, seed: int
) -> tuple[Annotated[pd.DataFrame, "train_data"], Annotated[pd.DataFrame, "test_data"]]:
    """Split the validated data into train and test, stratified by the target.

    Takes: the validated frame, the dataset spec, the split spec (test size) and the seed.
    Gives: `train_data` (for tuning and selection) and `test_data` (held out until
    evaluation and promotion).
    """
    train, test = split_dataset(frame, dataset.target, split.test_size, seed)
    return train, test  # a literal tuple: ZenML reads it to see two outputs
