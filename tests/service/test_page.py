"""The web page in a real browser: fill the form, submit, read the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.browser import browser_page
from tests.service.conftest import API_TOKEN

pytestmark = pytest.mark.slow

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}
TOKEN = API_TOKEN


def fill_and_submit(page, values: dict[str, float]) -> None:
    for name, value in values.items():
        page.fill(f"#{name}", str(value))
    page.click("#submit")


def show_a_prediction(page, url: str) -> None:
    """Open the page and get a first result on screen."""
    page.goto(f"{url}/ui")
    page.wait_for_selector("#petal_width")  # the form is built from GET /model
    fill_and_submit(page, SETOSA)
    page.wait_for_selector("#result:not([hidden])")
    assert "Predicted: setosa" in page.inner_text("body")


def wait_for_error(page) -> str:
    page.wait_for_function(
        "document.getElementById('error').textContent.length > 0", timeout=10_000
    )
    return page.inner_text("#error")


@contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, list[str]]]:
    """A loopback proxy in front of `upstream` that notes every path the browser asks for.

    Chromium fetches /favicon.ico from its browser process, which Playwright does not report:
    only the server side sees it.
    """
    paths: list[str] = []

    class Forward(BaseHTTPRequestHandler):
        def forward(self) -> None:
            paths.append(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kept = ("content-type", "authorization", "accept")
            headers = {k: v for k, v in self.headers.items() if k.lower() in kept}
            answer = httpx.request(
                self.command, upstream + self.path, content=body, headers=headers
            )
            self.send_response(answer.status_code)
            if "content-type" in answer.headers:
                self.send_header("Content-Type", answer.headers["content-type"])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = forward

        def log_message(self, *args) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}", paths
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.fixture
def token_server(guarded) -> str:
    """The service from source with SERVING_API_TOKEN set (tests/service/conftest.py)."""
    return guarded.url


def test_the_form_shows_the_predicted_species_its_probabilities_and_version(server):
    version = httpx.get(f"{server}/model").json()["model_version"]
    with browser_page() as page:
        page.goto(f"{server}/ui")
        page.wait_for_selector("#petal_width")  # the form is built from GET /model
        fill_and_submit(page, VIRGINICA)
        page.wait_for_selector("#result:not([hidden])")
        assert page.text_content("#label") == "virginica"
        bars = page.query_selector_all(".bar")
        assert [bar.query_selector("span").text_content() for bar in bars] == [
            "setosa",
            "versicolor",
            "virginica",
        ]
        shares = [float(bar.get_attribute("data-probability")) for bar in bars]
        assert shares[2] == max(shares)
        assert page.text_content("#version").endswith(f"v{version}")

        # A value the API refuses is explained on the page, and the next one still works.
        page.fill("#petal_width", "50")
        page.eval_on_selector("#features", "form => form.noValidate = true")
        page.click("#submit")
        assert "petal_width" in wait_for_error(page)
        fill_and_submit(page, SETOSA)
        page.wait_for_function("document.getElementById('label').textContent === 'setosa'")
        assert page.text_content("#error") == ""


def test_every_field_shows_its_allowed_range_from_the_model(server):
    features = httpx.get(f"{server}/model").json()["schema"]["features"]
    with browser_page() as page:
        page.goto(f"{server}/ui")
        page.wait_for_selector(f"#{features[-1]['name']}")
        inputs = page.eval_on_selector_all("#features input", "inputs => inputs.map(i => i.name)")
        assert inputs == [feature["name"] for feature in features]
        for feature in features:
            field = f"#{feature['name']}"
            assert float(page.get_attribute(field, "min")) == feature["min"]
            assert float(page.get_attribute(field, "max")) == feature["max"]
            # The range is visible text, next to the field and tied to it for screen readers.
            described_by = page.get_attribute(field, "aria-describedby")
            assert page.is_visible(f"#{described_by}")
            low, high = page.inner_text(f"#{described_by}").split("\N{EN DASH}")
            assert (float(low), float(high)) == (feature["min"], feature["max"])
        # No token on this server: no prompt for one.
        assert not page.is_visible("#token")


def test_a_value_the_api_rejects_clears_the_previous_result_and_names_the_field(server):
    with browser_page() as page:
        show_a_prediction(page, server)
        page.eval_on_selector("#features", "form => form.noValidate = true")  # on to the API
        page.fill("#petal_width", "50")
        page.click("#submit")
        assert "petal_width" in wait_for_error(page)
        seen = page.inner_text("body")
        assert "Predicted" not in seen and "setosa" not in seen
        assert page.get_attribute("#petal_width", "aria-invalid") == "true"
        assert page.get_attribute("#sepal_length", "aria-invalid") == "false"


def test_a_value_the_browser_rejects_clears_the_previous_result_and_names_the_field(server):
    with browser_page() as page:
        show_a_prediction(page, server)
        predictions: list[str] = []
        page.on("request", lambda r: "/predict" in r.url and predictions.append(r.url))
        page.fill("#petal_width", "50")
        page.click("#submit")
        message = wait_for_error(page)
        assert "petal_width" in message
        assert "Predicted" not in page.inner_text("body")
        assert predictions == []  # the browser stopped it: the API never saw the value


def test_a_network_failure_clears_the_previous_result_and_says_so(server):
    with browser_page() as page:
        show_a_prediction(page, server)
        page.route("**/predict", lambda route: route.abort())
        fill_and_submit(page, VIRGINICA)
        assert "Could not reach the service" in wait_for_error(page)
        assert "Predicted" not in page.inner_text("body")


def test_the_page_has_an_inline_favicon_and_never_asks_for_favicon_ico(server):
    with recording_proxy(server) as (url, paths), browser_page() as page:
        page.goto(f"{url}/ui")
        page.wait_for_selector("#petal_width")
        page.wait_for_timeout(2000)  # without an icon link, Chromium asks well within this
        assert "/ui" in paths and "/model" in paths
        assert "/favicon.ico" not in paths
        href = page.get_attribute("link[rel=icon]", "href")
        assert href.startswith("data:image/svg+xml,")
        width = page.evaluate(
            """href => new Promise(done => {
                const image = new Image();
                image.onload = () => done(image.naturalWidth);
                image.onerror = () => done(0);
                image.src = href;
            })""",
            href,
        )
        assert width > 0  # the icon is an image the browser can draw


def test_with_a_token_set_the_page_asks_for_it_once_and_again_when_refused(token_server):
    assert httpx.get(f"{token_server}/ui").status_code == 200  # the page itself stays open
    with browser_page() as page:
        page.goto(f"{token_server}/ui")
        page.wait_for_selector("#token", state="visible", timeout=20_000)
        assert "token" in page.inner_text("#auth").lower()
        assert page.query_selector("#petal_width") is None  # no model card without the token

        page.fill("#token", "not-the-token")
        page.click("#token-submit")
        page.wait_for_function(
            "document.getElementById('auth-message').textContent.includes('not accepted')"
        )
        assert page.is_visible("#token")
        assert page.query_selector("#petal_width") is None

        page.fill("#token", TOKEN)
        page.click("#token-submit")
        page.wait_for_selector("#petal_width")
        assert not page.is_visible("#token")
        fill_and_submit(page, VIRGINICA)
        page.wait_for_selector("#result:not([hidden])")
        assert page.text_content("#label") == "virginica"

        # Asked once: the tab keeps the token across a reload.
        page.reload()
        page.wait_for_selector("#petal_width")
        assert not page.is_visible("#token")
