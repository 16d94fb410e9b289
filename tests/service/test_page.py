"""The web page in a real browser: fill the form, submit, read the answer."""

from __future__ import annotations

import pytest

from tests.browser import browser_page

pytestmark = pytest.mark.slow


def fill_and_submit(page, values: dict[str, float]) -> None:
    for name, value in values.items():
        page.fill(f"#{name}", str(value))
    page.click("#submit")


def test_the_form_shows_the_predicted_species_its_probabilities_and_version(server):
    import httpx

    version = httpx.get(f"{server}/model").json()["model_version"]
    with browser_page() as page:
        page.goto(f"{server}/ui")
        page.wait_for_selector("#petal_width")  # the form is built from GET /model
        fill_and_submit(
            page, {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}
        )
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
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        assert "petal_width" in page.text_content("#error")
        fill_and_submit(
            page, {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
        )
        page.wait_for_function("document.getElementById('label').textContent === 'setosa'")
        assert page.text_content("#error") == ""
