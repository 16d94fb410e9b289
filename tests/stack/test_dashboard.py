"""`make dashboard` for real: the local ZenML server over a store with a past run, in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli, training_config
from tests.stack.browser import Browser
from tests.stack.conftest import free_port, isolated_env

pytestmark = pytest.mark.slow

STEPS = [
    "load_data",
    "validate_data",
    "split_data",
    "train_logistic_regression",
    "train_random_forest",
    "train_k_nearest_neighbors",
    "select_model",
    "evaluate_model",
    "promote_model",
]


def dashboard(command: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "stack.dashboard", command, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except OSError:
        return False


def test_dashboard_opens_on_the_runs_and_shows_a_past_run(tmp_path: Path, iris_csv: Path):
    env = isolated_env(tmp_path)
    config = training_config(tmp_path, iris_csv, "dashboard_model")
    trained = run_cli("--config", str(config), cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    run_name = re.search(r"^Run\s+(\S+)", trained.stdout, re.MULTILINE).group(1)

    port = free_port()
    started = dashboard("start", env, "--port", str(port))
    runs_url = re.search(r"Dashboard: (\S+)", started).group(1)
    assert runs_url == f"http://127.0.0.1:{port}/projects/default/runs"
    try:
        with Browser() as browser:
            runs_page, links = browser.text(runs_url, wait_for=[run_name])
            assert run_name in runs_page
            assert "Add your account details" not in runs_page  # no onboarding survey
            run_links = [link for link in links if re.search(r"/runs/[0-9a-f-]{36}$", link)]
            assert run_links, links

            run_page, _ = browser.text(run_links[0], wait_for=STEPS)
            assert run_name in run_page
            for step in STEPS:
                assert step in run_page
            assert re.search(r"Completed\s+9", run_page), run_page[-1500:]
    finally:
        dashboard("stop", env)
    assert not answers(runs_url)
