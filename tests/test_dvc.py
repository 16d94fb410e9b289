"""DVC as a user drives it, in a temporary copy of the project with its own git repo, DVC
remote and cache (ZenML and BentoML state are the temporary ones of tests/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from steps.data import file_md5
from tests.helpers import REPO

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
RAW = Path("data/raw/iris.csv")
DVC_FILE = Path("data/raw/iris.csv.dvc")
LOCK_HELP = (
    "dvc.lock does not match the committed code and data. Refresh it: `make repro` "
    "(`dvc repro` in the project's environment), then commit dvc.lock."
)


def run(*command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    if check:
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def dvc(*args: str, cwd: Path) -> str:
    result = run(str(BIN / "dvc"), *args, cwd=cwd)
    return result.stdout + result.stderr


def git(*args: str, cwd: Path) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    return run("git", *identity, *args, cwd=cwd).stdout.strip()


def train(*args: str, cwd: Path) -> str:
    """`python run.py ARGS` in the copy, as a user types it there."""
    return run(sys.executable, "run.py", *args, cwd=cwd).stdout


def data_md5_line(output: str) -> str:
    """The md5 on the run summary's `Data md5` line."""
    found = re.search(r"^Data md5\s+(\w+)$", output, re.MULTILINE)
    assert found, output[-2000:]
    return found.group(1)


def recorded_md5(project: Path) -> str:
    return yaml.safe_load((project / DVC_FILE).read_text())["outs"][0]["md5"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's files as a fresh clone has them, in a new git repository."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    copy = tmp_path / "project"
    for name in listed:
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    git("init", "-q", cwd=copy)
    (copy / ".dvc" / "config.local").write_text(
        f"['remote \"local\"']\n    url = {tmp_path / 'remote'}\n"
    )
    return copy


def test_committed_dvc_lock_matches_the_code_and_data(project: Path):
    """Fails in CI as soon as steps/, pipelines/, run.py, the config or the data change
    without a refreshed dvc.lock (a fresh clone's `dvc status` would not be clean);
    elsewhere it is skipped with the command to run."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert list(lock["stages"]) == ["train"], LOCK_HELP
    locked = {dep["path"]: dep["md5"] for dep in lock["stages"]["train"]["deps"]}
    assert locked.get(str(RAW)) == recorded_md5(project), (
        f"{LOCK_HELP} ({RAW} in dvc.lock is not the data {DVC_FILE} records)"
    )
    # The raw CSV is not in a clone until `make data`, nor are the outputs until a run.
    problems = []
    for change in json.loads(dvc("status", "train", "--json", cwd=project)).get("train", []):
        if isinstance(change, dict) and set(change) <= {"changed deps", "changed outs"}:
            deps = change.get("changed deps", {})
            problems += [f"{path}: {state}" for path, state in deps.items() if path != str(RAW)]
        else:
            problems.append(str(change))
    if problems and os.environ.get("CI") != "true":
        # A developer mid-change gets what to run, not a red suite; CI (CI=true) fails.
        pytest.skip(f"{LOCK_HELP} Changed: {'; '.join(problems)}")
    assert not problems, f"{LOCK_HELP}\n" + "\n".join(problems)


@pytest.mark.slow
def test_make_data_bootstraps_only_the_iris_data_it_can_write(project: Path):
    raw, dvc_file = project / RAW, project / DVC_FILE
    committed = dvc_file.read_bytes()
    first = run("make", "-o", "install", "data", cwd=project).stdout
    assert "wrote the Iris data with data/make_iris.py" in first
    assert file_md5(raw) == recorded_md5(project)
    assert dvc_file.read_bytes() == committed
    dvc("push", cwd=project)  # the bootstrapped bytes are in the cache, so they can be pushed
    assert "Everything is up to date." in run("make", "-o", "install", "data", cwd=project).stdout

    raw.write_text(raw.read_text().replace("5.1,3.5,1.4,0.2", "5.2,3.5,1.4,0.2", 1))
    edited = raw.read_bytes()
    kept = run("make", "-o", "install", "data", cwd=project).stdout
    assert "kept as it is" in kept and "make data-add" in kept
    assert raw.read_bytes() == edited

    # The user's own data, recorded but never pushed: a fresh cache cannot get it.
    dvc("add", str(RAW), cwd=project)
    own = dvc_file.read_bytes()
    raw.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    refused = run("make", "-o", "install", "data", cwd=project, check=False)
    assert refused.returncode != 0
    assert "`dvc pull` could not get data/raw/iris.csv" in refused.stderr
    assert "Make the DVC remote that holds it reachable" in refused.stderr
    assert not raw.exists()
    assert dvc_file.read_bytes() == own


@pytest.mark.slow
def test_own_data_is_versioned_and_an_old_revision_reproduces_its_model(project: Path):
    from zenml.client import Client

    raw = project / RAW
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "a fresh clone", cwd=project)
    iris_rev, iris_md5 = git("rev-parse", "HEAD", cwd=project), recorded_md5(project)

    run("make", "-o", "install", "data", cwd=project)
    assert data_md5_line(train(cwd=project)) == iris_md5
    assert "Data and pipelines are up to date." in dvc("status", cwd=project), LOCK_HELP
    again = dvc("repro", cwd=project)
    assert "Running stage" not in again and "Data and pipelines are up to date." in again

    dvc("push", cwd=project)
    original = raw.read_bytes()
    raw.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    dvc("pull", cwd=project)
    assert raw.read_bytes() == original

    # The user's own data: Iris with every 7th row gone and one value changed.
    header, *rows = original.decode().splitlines()
    rows = [row for index, row in enumerate(rows) if index % 7]
    rows[0] = rows[0].replace("3.5", "3.6", 1)
    raw.write_text("\n".join([header, *rows]) + "\n")
    own_md5 = file_md5(raw)
    dvc("add", str(RAW), cwd=project)
    retrained = dvc("repro", cwd=project)
    assert "Running stage 'train'" in retrained
    assert data_md5_line(retrained) == own_md5
    assert "Data and pipelines are up to date." in dvc("status", cwd=project)
    git("add", str(DVC_FILE), "dvc.lock", cwd=project)
    git("commit", "-q", "-m", "own data", cwd=project)
    dvc("push", cwd=project)

    # And back to the Iris revision.
    git("checkout", iris_rev, "--", str(DVC_FILE), cwd=project)
    dvc("checkout", cwd=project)
    assert raw.read_bytes() == original
    assert data_md5_line(train(cwd=project)) == iris_md5
    assert data_md5_line(train("--no-cache", cwd=project)) == iris_md5
    reproduced = json.loads((project / "reports" / "metrics.json").read_text())

    versions = Client().list_model_versions(
        model="iris_classifier", sort_by="asc:number", size=100, hydrate=True
    )
    stored = [v.run_metadata for v in versions.items if v.run_metadata.get("data_md5") == iris_md5]
    assert stored, "no model version records the Iris data's md5"
    assert reproduced["data_md5"] == iris_md5
    assert (
        reproduced["accuracy"],
        reproduced["macro_f1"],
        reproduced["cv_score"],
    ) == (stored[0]["test_accuracy"], stored[0]["test_macro_f1"], stored[0]["cv_score"])
    assert any(v.run_metadata.get("data_md5") == own_md5 for v in versions.items)
