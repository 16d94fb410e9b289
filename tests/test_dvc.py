"""DVC as a user drives it, in a temporary copy of the project with its own remote and cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from steps.data import file_md5
from tests.helpers import REPO

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def dvc(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


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
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    dvc("remote", "modify", "--local", "local", "url", str(tmp_path / "remote"), cwd=copy)
    return copy


def test_repro_is_idempotent_and_push_pull_restores_the_data(project: Path):
    first = dvc("repro", cwd=project)
    assert "Running stage 'raw'" in first
    assert "Running stage 'train'" in first
    raw = project / "data" / "raw" / "iris.csv"
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert file_md5(raw) == lock["stages"]["raw"]["outs"][0]["md5"]
    assert "accuracy" in dvc("metrics", "show", cwd=project)

    second = dvc("repro", cwd=project)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date." in second

    original = raw.read_bytes()
    dvc("push", cwd=project)
    raw.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    dvc("pull", cwd=project)
    assert raw.read_bytes() == original
