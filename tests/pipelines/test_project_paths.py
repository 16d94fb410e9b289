"""Relative paths in a run config are read from the project root, whatever the working folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.project_paths import PROJECT_ROOT, resolve_project_path
from tests.helpers import REPO, run_cli, training_config


def test_the_project_root_holds_run_py():
    assert PROJECT_ROOT == REPO
    assert (PROJECT_ROOT / "run.py").is_file()


def test_relative_paths_resolve_against_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_project_path("data/raw/iris.csv") == REPO / "data" / "raw" / "iris.csv"
    assert resolve_project_path(Path("x.csv")) == REPO / "x.csv"


def test_absolute_paths_stay_as_they_are(tmp_path):
    assert resolve_project_path(tmp_path / "mine.csv") == tmp_path / "mine.csv"
    assert resolve_project_path(str(tmp_path / "mine.csv")) == tmp_path / "mine.csv"


def test_the_shipped_config_points_at_the_dvc_tracked_file():
    """dvc.yaml's `train` stage depends on this path, read from the project root."""
    config = yaml.safe_load((REPO / "configs" / "training.yaml").read_text())
    dataset = resolve_project_path(config["parameters"]["dataset"]["path"])
    assert Path(f"{dataset}.dvc").is_file()
    assert "data/raw/iris.csv" in (REPO / "dvc.yaml").read_text()


@pytest.mark.slow  # run.py in a subprocess (ZenML's import): seconds
def test_run_py_from_another_folder_looks_in_the_project(tmp_path):
    """A missing relative file is named where the run looked: under the project, not the cwd."""
    config = training_config(tmp_path, Path("data/raw/no-such-file.csv"), "iris_paths")
    result = run_cli("--config", str(config), cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"{REPO / 'data' / 'raw' / 'no-such-file.csv'}: file not found" in result.stderr
