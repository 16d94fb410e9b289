"""Get the raw data through DVC, bootstrapping the shipped Iris data on a fresh DVC remote.

`make data` runs this: `python -m data.get_data [data/raw/iris.csv.dvc]`.

The raw CSV is a DVC-tracked input: its committed .dvc file names the bytes by md5 and
`dvc pull` fetches them. A fresh clone's remote is empty (or not reachable yet), so there
is nothing to pull; then, and only if the .dvc file names the Iris data this project ships,
data/make_iris.py writes it (byte for byte the same on every machine) and it goes into the
DVC cache, so a later `dvc push` sends it. Anyone else's data must come from their remote:
this never writes data the .dvc file does not name, and never rewrites the .dvc file.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

DVC_FILE = Path("data/raw/iris.csv.dvc")


class DataUnavailable(Exception):
    """DVC cannot get the data, and it is not the Iris data this project can write itself."""


def recorded_output(dvc_file: Path) -> tuple[Path, str]:
    """The data file a .dvc file tracks, and the md5 it records for it."""
    out = yaml.safe_load(dvc_file.read_text())["outs"][0]
    return dvc_file.parent / out["path"], out["md5"]


def md5_of(path: Path) -> str:
    """The md5 DVC 3 records for a file: that of its bytes."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def dvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dvc", *args], capture_output=True, text=True)


def get_data(dvc_file: Path = DVC_FILE) -> str:
    """Make the tracked file match its .dvc file; return what was done, for the user.

    A file that differs from the record is the user's new data: it is kept, never
    overwritten, and the message says how to record it (or to drop it).
    """
    data, md5 = recorded_output(dvc_file)
    if data.is_file() and (actual := md5_of(data)) != md5:
        return (
            f"{data} is not the data {dvc_file} records (md5 {actual}, recorded {md5}): "
            f"kept as it is. Record it with `make data-add` (dvc add), then commit {dvc_file} "
            "and `dvc push`; or go back to the recorded data with "
            f"`dvc checkout --force {dvc_file}`."
        )
    pulled = dvc("pull", str(dvc_file))
    if pulled.returncode == 0:
        return pulled.stdout.strip()
    return bootstrap(dvc_file, data, md5, pull_error=pulled.stderr.strip())


def bootstrap(dvc_file: Path, data: Path, md5: str, pull_error: str) -> str:
    """Pull failed: write Iris if it is what the .dvc file names, and put it in the DVC cache."""
    if data.is_file():  # already matches the record (checked by get_data), just not cached
        made = f"{data} is already here and matches {dvc_file}"
    else:
        write_if_recorded(data, md5, dvc_file, pull_error)
        made = f"wrote the Iris data with data/make_iris.py (md5 {md5}, as {dvc_file} records)"
    # The bytes match the record, so `dvc commit` only stores them in the cache: the .dvc
    # file keeps its content.
    committed = dvc("commit", "--force", str(dvc_file))
    if committed.returncode != 0:
        raise DataUnavailable(f"{made}, but `dvc commit` failed:\n{committed.stderr.strip()}")
    return (
        f"`dvc pull` found no copy of {data} (the DVC remote is empty or unreachable): {made}. "
        "It is in the DVC cache now; `dvc push` sends it to the remote."
    )


def write_if_recorded(data: Path, md5: str, dvc_file: Path, pull_error: str) -> None:
    """Write Iris to `data` only if its md5 is the recorded one; otherwise say what to do."""
    from data.make_iris import write_iris

    data.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data.parent) as folder:
        candidate = Path(folder) / data.name
        write_iris(candidate)
        if md5_of(candidate) != md5:
            raise DataUnavailable(
                f"`dvc pull` could not get {data} (md5 {md5}, recorded in {dvc_file}):\n"
                f"{pull_error}\n"
                "That is not the Iris data this project can write itself, so nothing was "
                "written. Make the DVC remote that holds it reachable (`dvc remote list`; "
                "`dvc remote modify --local <name> url <url>`; `make dvc-remote-s3`), then "
                "run `dvc pull` (or `make data`)."
            )
        candidate.replace(data)


def main() -> None:
    try:
        print(get_data(Path(sys.argv[1]) if len(sys.argv) > 1 else DVC_FILE))
    except DataUnavailable as error:
        print(f"No data: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
