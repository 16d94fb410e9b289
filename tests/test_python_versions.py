"""Every supported Python ends a successful run with its summary, not a traceback."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, training_config
from tests.stack.conftest import isolated_env

pytestmark = pytest.mark.slow


def python_312() -> str | None:
    """python3.12 on PATH, else pyenv's (this machine kind has one there)."""
    found = shutil.which("python3.12") or next(
        iter(sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))),
        None,
    )
    return found


def test_a_run_on_python_312_prints_no_traceback_after_its_summary(tmp_path, iris_csv):
    python = python_312()
    if python is None:
        if os.environ.get("IRIS_REQUIRE_PYTHON312") == "1":  # set by .ci/run
            pytest.fail("CI needs a Python 3.12 (python3.12 on PATH, or pyenv's)")
        pytest.skip("no Python 3.12 here")
    venv = tmp_path / "venv312"
    synced = subprocess.run(
        [str(REPO / ".venv" / "bin" / "uv"), "sync", "--frozen", "--no-dev", "--python", python],
        cwd=REPO,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert synced.returncode == 0, synced.stderr[-3000:]

    config = training_config(tmp_path, iris_csv, "py312_iris")
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(REPO / "run.py"), "--config", str(config)],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Python 3.12" in Path(venv / "pyvenv.cfg").read_text() or "3.12" in python
    assert "Production now version 1" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]
