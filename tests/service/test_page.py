"""The web page in a real browser: fill the form, submit, read the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

# Locator assertions rather than wait_for_function: the page's Content-Security-Policy
# forbids the eval that Playwright's in-page polling of a string predicate needs.
from playwright.sync_api import expect

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
    expect(page.locator("#error")).not_to_be_empty(timeout=10_000)
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
        expect(page.locator("#label")).to_have_text("setosa")
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
            low, high = page.inner_text(f"#{described_by}").removeprefix("from ").split(" to ")
            assert (float(low), float(high)) == (feature["min"], feature["max"])
            assert page.get_attribute(field, "required") is not None  # none may stay empty
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
        expect(page.locator("#auth-message")).to_contain_text("not accepted")
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


# The churn model: a plan from a fixed list, any region (four known), and two numbers the
# model fills in when they are missing (tests/tabular_data.py).
CHURN = {"plan": "basic", "region": "south", "monthly_spend": "", "tenure_months": "3"}


def open_churn_form(page, url: str) -> None:
    page.goto(f"{url}/ui")
    page.wait_for_selector("#tenure_months")  # the last feature: the form is built


def fill_churn(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        if page.eval_on_selector(f"#{name}", "field => field.tagName") == "SELECT":
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", value)


def test_each_churn_field_is_the_control_its_feature_needs(churn_server, tmp_path):
    features = {
        f["name"]: f for f in httpx.get(f"{churn_server}/model").json()["schema"]["features"]
    }
    assert features["plan"]["unknown"] == "refuse" and features["region"]["unknown"] == "ignore"
    with browser_page() as page:
        page.set_viewport_size({"width": 900, "height": 600})
        open_churn_form(page, churn_server)
        fields = page.eval_on_selector_all(
            "#features select, #features input",
            "fields => fields.map(f => [f.name, f.tagName.toLowerCase(), f.type, f.required])",
        )
        assert fields == [
            ["plan", "select", "select-one", True],  # refuses other values: a list
            ["region", "input", "text", True],  # takes any text
            ["monthly_spend", "input", "number", False],  # the model fills it in
            ["tenure_months", "input", "number", False],
        ]
        options = page.eval_on_selector_all(
            "#plan option", "options => options.map(o => [o.value, o.textContent])"
        )
        assert options[0] == ["", "choose…"]
        assert options[1:] == [[c, c] for c in features["plan"]["categories"]]
        assert page.input_value("#plan") == ""

        # The known regions are suggestions, not a limit.
        datalist = page.get_attribute("#region", "list")
        suggested = page.eval_on_selector_all(
            f"datalist#{datalist} option", "options => options.map(o => o.value)"
        )
        assert suggested == features["region"]["categories"]

        # min/max only where the model has them, and the hint says what empty means.
        assert float(page.get_attribute("#monthly_spend", "min")) == 0
        assert page.get_attribute("#monthly_spend", "max") is None
        low, high = (page.get_attribute("#tenure_months", bound) for bound in ("min", "max"))
        assert (float(low), float(high)) == (0, 120)

        def hint(name: str) -> str:
            return page.inner_text(f"#{page.get_attribute(f'#{name}', 'aria-describedby')}")

        assert hint("monthly_spend").startswith("at least 0")
        assert hint("tenure_months").startswith("from 0 to 120")
        for name in ("monthly_spend", "tenure_months"):
            assert "empty: filled in by the model" in hint(name)
        for name in ("plan", "region"):
            assert "filled in" not in hint(name)
        assert "any text" in hint("region")

        shot = tmp_path / "churn-form.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        print(f"\nchurn form screenshot: {shot}")


def test_the_churn_form_predicts_with_an_empty_field_the_model_fills_in(churn_server):
    with browser_page() as page:
        open_churn_form(page, churn_server)
        sent: list[dict] = []
        page.on("request", lambda r: "/predict" in r.url and sent.append(r.post_data_json))
        fill_churn(page, CHURN)
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])")
        assert page.inner_text("body").count("Predicted: ") == 1
        assert page.text_content("#label") in {"yes", "no"}
        assert f"Predicted: {page.text_content('#label')}" in page.inner_text("#result")
        bars = page.query_selector_all(".bar")
        assert [bar.query_selector("span").text_content() for bar in bars] == ["no", "yes"]
        shares = [float(bar.get_attribute("data-probability")) for bar in bars]
        assert sum(shares) == pytest.approx(1)
        # Numbers as numbers, text as text, the empty field as null.
        assert sent == [
            {
                "records": [
                    {"plan": "basic", "region": "south", "monthly_spend": None, "tenure_months": 3}
                ]
            }
        ]

        # A region the model has not seen is still a region: the API takes it.
        fill_churn(page, {"region": "atlantis", "monthly_spend": "80.5", "tenure_months": ""})
        page.click("#submit")
        expect(page.locator(".bar")).to_have_count(2)
        page.wait_for_selector("#result:not([hidden])")
        assert page.text_content("#error") == ""
        assert sent[-1] == {
            "records": [
                {
                    "plan": "basic",
                    "region": "atlantis",
                    "monthly_spend": 80.5,
                    "tenure_months": None,
                }
            ]
        }


def test_a_churn_value_the_api_refuses_is_shown_and_marks_its_field(churn_server):
    with browser_page() as page:
        open_churn_form(page, churn_server)
        page.eval_on_selector("#features", "form => form.noValidate = true")  # on to the API
        fill_churn(page, {**CHURN, "tenure_months": "500"})
        page.click("#submit")
        assert "tenure_months" in wait_for_error(page)
        assert "Predicted" not in page.inner_text("body")
        assert page.get_attribute("#tenure_months", "aria-invalid") == "true"
        for name in ("plan", "region", "monthly_spend"):
            assert page.get_attribute(f"#{name}", "aria-invalid") == "false"

        # Fixed, it predicts, and the mark goes.
        fill_churn(page, {"tenure_months": "24"})
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])")
        assert page.text_content("#error") == ""
        assert page.get_attribute("#tenure_months", "aria-invalid") == "false"


def test_a_churn_plan_left_unchosen_is_stopped_by_the_browser(churn_server):
    with browser_page() as page:
        open_churn_form(page, churn_server)
        predictions: list[str] = []
        page.on("request", lambda r: "/predict" in r.url and predictions.append(r.url))
        fill_churn(page, {**CHURN, "plan": ""})
        page.click("#submit")
        assert "plan" in wait_for_error(page)
        assert predictions == []  # required: the API never saw it
