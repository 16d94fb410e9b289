"""The Pythons the project supports: a real run on the newest one this machine has, and the
Makefile refusing any other before it builds .venv (uv would otherwise switch interpreters).

pyproject.toml allows 3.10-3.14. .venv runs the suite on one of them (3.11 here, every one in
GitHub's matrix); this trains once more on Python 3.13 (pyenv's here; IRIS_REQUIRE_PYTHON313=1,
set by .ci/run, turns its absence into a failure). No Python 3.14 reaches this machine: uv.lock
has a 3.14 wheel (or a pure-Python sdist) for every package, which is as far as it is checked.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, training_config
from tests.stack.conftest import isolated_env

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

RUN_PYTHON = (3, 13)


def pyenv_or_path_python(major: int, minor: int) -> str | None:
    """A Python major.minor that runs: pyenv's (this machine kind has one), else on PATH.

    pyenv's shim on PATH answers to the name but fails unless that version is selected.
    """
    name = f"python{major}.{minor}"
    candidates = sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{major}.{minor}*/bin/{name}"))
    )
    candidates += [found] if (found := shutil.which(name)) else []
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", f"import sys; print(sys.version_info[:2] == ({major}, {minor}))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


@pytest.mark.slow
def test_a_run_on_python_313_prints_no_traceback_after_its_summary(tmp_path, iris_csv):
    python = pyenv_or_path_python(*RUN_PYTHON)
    if python is None:
        if os.environ.get("IRIS_REQUIRE_PYTHON313") == "1":  # set by .ci/run
            pytest.fail("CI needs a Python 3.13 (python3.13 on PATH, or pyenv's)")
        pytest.skip("no Python 3.13 here")
    venv = tmp_path / "venv313"
    synced = subprocess.run(
        [str(REPO / ".venv" / "bin" / "uv"), "sync", "--frozen", "--no-dev", "--python", python],
        cwd=REPO,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert synced.returncode == 0, synced.stderr[-3000:]
    assert "version_info = 3.13" in (venv / "pyvenv.cfg").read_text()

    config = training_config(tmp_path, iris_csv, "py313_iris")
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(REPO / "run.py"), "--config", str(config)],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Production now version 1" in result.stdout
    # Clean: no traceback, no "Exception ignored" at shutdown, no warning; nothing at all.
    assert result.stderr == "", result.stderr[-3000:]


def test_pyproject_allows_python_310_to_314():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10,<3.15"
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    assert lock["requires-python"].replace(" ", "") == project["requires-python"]


# The Makefile's check, on stand-in interpreters: each answers the version probe
# (`python -c '...print("%d.%d.%d" % ...)'`) as that Python would, and does nothing else.


def stand_in(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    python = folder / "python"
    python.write_text(f"#!/bin/sh\necho {version}\n")
    python.chmod(0o755)
    return python


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make -f <the repo's Makefile>` run in `folder`, beside a copy of pyproject.toml (an
    empty uv.lock: a check that stops make leaves it unread)."""
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    shutil.copy(REPO / "params.yaml", folder / "params.yaml")
    (folder / "uv.lock").touch()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHON", "MAKEFLAGS", "MFLAGS"}}
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), *args],
        cwd=folder,
        env={**env, "MAKELEVEL": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )


SUPPORTED = 'Python 3.10 to 3.14 (requires-python ">=3.10,<3.15")'


@pytest.mark.parametrize(
    ("version", "allowed"),
    [("2.7.18", False), ("3.9.18", False), ("3.10.0", True), ("3.14.2", True), ("3.15.0", False)],
)
def test_make_install_accepts_only_the_pythons_pyproject_allows(tmp_path, version, allowed):
    python = stand_in(tmp_path / "bin", version)

    result = make(tmp_path, "python-check", f"PYTHON={python}")

    if allowed:
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    else:
        assert result.returncode != 0
        assert result.stderr.splitlines()[0] == (
            f"PYTHON={python} is Python {version}, which this project does not support: "
            f"it supports {SUPPORTED}"
        )


def test_make_install_with_an_unsupported_python_stops_before_making_the_venv(tmp_path):
    python = stand_in(tmp_path / "bin", "3.9.18")

    result = make(tmp_path, "install", f"PYTHON={python}")

    assert result.returncode != 0
    assert "which this project does not support" in result.stderr
    assert not (tmp_path / ".venv").exists()


def test_make_install_names_a_python_that_does_not_run(tmp_path):
    result = make(tmp_path, "install", "PYTHON=python3.99-none")

    assert result.returncode != 0
    assert result.stderr.startswith("PYTHON=python3.99-none does not run")
    assert SUPPORTED in result.stderr.splitlines()[0]


def test_make_install_refuses_an_existing_venv_on_another_python_than_asked(tmp_path):
    stand_in(tmp_path / ".venv" / "bin", "3.11.7")
    asked = stand_in(tmp_path / "bin", "3.13.0")

    result = make(tmp_path, "install", f"PYTHON={asked}")

    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f".venv is on Python 3.11.7, not PYTHON={asked}'s 3.13.0: "
        "rm -rf .venv to rebuild it on 3.13.0, or leave PYTHON out"
    )
    assert not (tmp_path / ".venv" / ".installed").exists()
    # Asked for its own version, or not asked at all, the existing .venv is used.
    assert (
        make(tmp_path, "python-check", f"PYTHON={stand_in(tmp_path / 'b', '3.11.2')}").returncode
        == 0
    )
    assert make(tmp_path, "python-check").returncode == 0


def test_a_bare_python_name_is_looked_up_outside_the_venv(tmp_path, monkeypatch):
    """The Makefile puts .venv/bin first on PATH; `PYTHON=python3` still means the user's."""
    stand_in(tmp_path / ".venv" / "bin", "3.11.7")
    shutil.copy(tmp_path / ".venv" / "bin" / "python", tmp_path / ".venv" / "bin" / "pyx")
    stand_in(tmp_path / "bin", "3.13.0").rename(tmp_path / "bin" / "pyx")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    result = make(tmp_path, "install", "PYTHON=pyx")

    assert result.returncode != 0
    assert result.stderr.startswith(".venv is on Python 3.11.7, not PYTHON=pyx's 3.13.0")


def test_make_install_refuses_an_existing_venv_on_an_unsupported_python(tmp_path):
    stand_in(tmp_path / ".venv" / "bin", "3.9.18")

    result = make(tmp_path, "install")

    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f".venv is on Python 3.9.18, which this project does not support: it supports "
        f"{SUPPORTED}; rm -rf .venv, then make install PYTHON=<one of them>"
    )
