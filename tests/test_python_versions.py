"""Every supported Python ends a successful run with its summary, not a traceback."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

from tests.helpers import REPO, training_config
from tests.stack.conftest import isolated_env

pytestmark = pytest.mark.slow


def python_312() -> str | None:
    """A Python 3.12 that runs: pyenv's (this machine kind has one), else python3.12 on PATH.

    pyenv's shim on PATH answers to the name but fails unless 3.12 is its selected version.
    """
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    candidates += [found] if (found := shutil.which("python3.12")) else []
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


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
    assert "version_info = 3.12" in (venv / "pyvenv.cfg").read_text()
    assert "Production now version 1" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]
