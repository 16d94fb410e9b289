"""`make dashboard` for real: the local ZenML server over a store with a past run, in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.browser import browser_page
from tests.helpers import REPO, free_port, run_cli, shipped_config, training_config
from tests.stack.conftest import isolated_env

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1280, "height": 800}

# The training pipeline's steps: one `train_<name>` per candidate of the shipped config.
STEPS = [
    "load_data",
    "validate_data",
    "split_data",
    *(f"train_{name}" for name in shipped_config()["parameters"]["candidates"]),
    "select_model",
    "evaluate_model",
    "promote_model",
]


class Dashboard(NamedTuple):
    runs_url: str
    run_name: str


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


@pytest.fixture(scope="module")
def dashboard_run(tmp_path_factory: pytest.TempPathFactory, iris_csv: Path) -> Iterator[Dashboard]:
    """A training run in a store of its own, and `make dashboard` started on it; stopped after."""
    folder = tmp_path_factory.mktemp("dashboard")
    env = isolated_env(folder)
    config = training_config(folder, iris_csv, "dashboard_model")
    trained = run_cli("--config", str(config), cwd=folder, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    run_name = re.search(r"^Run\s+(\S+)", trained.stdout, re.MULTILINE).group(1)

    port = free_port()
    started = dashboard("start", env, "--port", str(port))
    runs_url = re.search(r"Dashboard: (\S+)", started).group(1)
    assert runs_url == f"http://127.0.0.1:{port}/projects/default/runs"
    try:
        yield Dashboard(runs_url, run_name)
    finally:
        dashboard("stop", env)
    assert not answers(runs_url)


def run_page(page, runs_url: str, run_name: str) -> str:
    """The address of the run's page, found as a user finds it: on the runs page."""
    page.goto(runs_url)
    page.get_by_text(run_name).first.wait_for(timeout=60_000)
    links = page.eval_on_selector_all("a", "anchors => anchors.map(a => a.href)")
    run_links = [link for link in links if re.search(r"/runs/[0-9a-f-]{36}$", link)]
    assert run_links, links
    return run_links[0]


def whole_graph(page, run_url: str) -> None:
    """The run's page with its whole graph in view, as a user gets it with "Fit view".

    The dashboard opens a large graph zoomed on its first steps and draws only the nodes in
    view (four candidates and validate_data's two outputs make Iris's graph that large).
    """
    page.goto(run_url)
    page.get_by_text("load_data", exact=True).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Fit view").click()


def test_dashboard_opens_on_the_runs_and_shows_a_past_run(dashboard_run: Dashboard):
    with browser_page() as page:
        run_url = run_page(page, dashboard_run.runs_url, dashboard_run.run_name)
        assert "Add your account details" not in page.inner_text("body")  # no survey

        # The run's graph is laid out in a web worker: wait until every step is drawn.
        whole_graph(page, run_url)
        for step in STEPS:
            page.get_by_text(step, exact=True).first.wait_for(timeout=60_000)
        page.wait_for_function(
            f"/Completed\\s+{len(STEPS)}/.test(document.body.innerText)", timeout=60_000
        )
        assert dashboard_run.run_name in page.inner_text("body")


def open_visualization(page, run_url: str, artifact: str) -> None:
    """Click the artifact on the run's graph, then its Visualization tab and Load Preview."""
    whole_graph(page, run_url)
    node = page.get_by_text(artifact, exact=True).first
    node.wait_for(timeout=60_000)
    node.click()
    page.get_by_role("tab", name="Visualization").click()
    load = page.get_by_role("button", name="Load Preview")
    refused = page.get_by_text("cannot be visualized because it cannot be loaded")
    load.or_(refused).first.wait_for(timeout=60_000)
    assert not refused.count(), f"{artifact}: {refused.first.inner_text()}"
    load.click()


def test_the_confusion_matrix_is_an_image_and_the_report_fits_its_frame(
    dashboard_run: Dashboard,
):
    with browser_page() as page:
        page.set_viewport_size(VIEWPORT)
        run_url = run_page(page, dashboard_run.runs_url, dashboard_run.run_name)

        open_visualization(page, run_url, "confusion_matrix_png")
        image = page.locator("img[alt='Visualization for artifact']")
        image.wait_for(timeout=60_000)
        image.evaluate("img => img.decode()")  # waits for the image; fails if it cannot load
        assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [450, 400]

        open_visualization(page, run_url, "evaluation_report")
        frame_element = page.locator("iframe[title='Secure HTML Content']")
        frame_element.wait_for(timeout=60_000)
        box = frame_element.bounding_box()
        assert box["y"] + box["height"] <= VIEWPORT["height"], box  # on screen, unscrolled
        assert box["x"] + box["width"] <= VIEWPORT["width"], box
        frame = frame_element.element_handle().content_frame()
        frame.wait_for_load_state()
        fit = frame.evaluate(
            """() => {
                const page = document.scrollingElement, img = document.querySelector("img");
                return {
                    scrollWidth: page.scrollWidth, clientWidth: page.clientWidth,
                    scrollHeight: page.scrollHeight, clientHeight: page.clientHeight,
                    imageWidth: img.naturalWidth, imageBottom: img.getBoundingClientRect().bottom,
                    text: document.body.innerText,
                };
            }"""
        )
        assert fit["scrollHeight"] <= fit["clientHeight"], fit
        assert fit["scrollWidth"] <= fit["clientWidth"], fit
        assert fit["imageWidth"] > 0 and fit["imageBottom"] <= fit["clientHeight"], fit
        assert "Test accuracy" in fit["text"] and "virginica" in fit["text"], fit
