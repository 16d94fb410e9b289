"""`make dashboard` for real: the local ZenML server over a store with a past run, in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.browser import browser_page
from tests.helpers import REPO, free_port, run_cli, training_config
from tests.stack.conftest import isolated_env

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
        with browser_page() as page:
            page.goto(runs_url)
            page.get_by_text(run_name).first.wait_for(timeout=60_000)
            assert "Add your account details" not in page.inner_text("body")  # no survey
            links = page.eval_on_selector_all("a", "anchors => anchors.map(a => a.href)")
            run_links = [link for link in links if re.search(r"/runs/[0-9a-f-]{36}$", link)]
            assert run_links, links

            # The run's graph is laid out in a web worker: wait until every step is drawn.
            page.goto(run_links[0])
            for step in STEPS:
                page.get_by_text(step, exact=True).first.wait_for(timeout=60_000)
            page.wait_for_function("/Completed\\s+9/.test(document.body.innerText)", timeout=60_000)
            assert run_name in page.inner_text("body")
    finally:
        dashboard("stop", env)
    assert not answers(runs_url)
