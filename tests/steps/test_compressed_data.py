"""A compressed file named .csv is said to be compressed, not "not UTF-8"."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile

import pytest

from steps.data import check_data_file, read_dataset
from steps.validation import DataValidationError


def gzipped(text: bytes, path):
    path.write_bytes(gzip.compress(text))


def bzipped(text: bytes, path):
    path.write_bytes(bz2.compress(text))


def xzipped(text: bytes, path):
    path.write_bytes(lzma.compress(text))


def zipped(text: bytes, path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("iris.csv", text)


@pytest.mark.parametrize(
    ("compress", "kind"),
    [(gzipped, "gzip"), (bzipped, "bzip2"), (xzipped, "xz"), (zipped, "zip")],
)
def test_compressed_csv_is_named_as_such(tmp_path, iris_csv, compress, kind):
    path = tmp_path / "iris.csv"
    compress(iris_csv.read_bytes(), path)
    with pytest.raises(DataValidationError) as raised:
        read_dataset(path, shown_as="data/raw/iris.csv")
    message = str(raised.value)
    assert message.startswith(f"data/raw/iris.csv: the file is compressed ({kind})")
    assert "decompress it first" in message
    assert "UTF-8" not in message


def test_the_client_refuses_it_before_staging(tmp_path, iris_csv):
    path = tmp_path / "iris.csv"
    gzipped(iris_csv.read_bytes(), path)
    with pytest.raises(DataValidationError, match=r"compressed \(gzip\).*gunzip -c iris.csv"):
        check_data_file(path)


def test_text_that_starts_like_a_magic_number_is_still_read(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("BZh,PK\n1,2\n")
    assert list(read_dataset(path).columns) == ["BZh", "PK"]
