"""The notebook a user opens after `make run`, executed on the session's fresh store.

It runs the way Jupyter runs it (kernel `python3` from .venv, working directory
notebooks/), after a training run (`served_model`); its settings cell is followed by one
that points it at that model's config, as papermill injects parameters.
"""

from __future__ import annotations

import base64
import io
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from PIL import Image
from zenml.client import Client
from zenml.enums import ModelStages

from tests.helpers import REPO, free_port, model_config
from tests.service.conftest import start_server, stop_server

NOTEBOOK = REPO / "notebooks" / "explore_model_versions.ipynb"


def test_committed_notebook_has_no_outputs():
    """Outputs would carry one machine's runs, paths and images into every diff."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], cell.source[:80]
        assert cell.execution_count is None, cell.source[:80]


def tagged(notebook) -> dict[str, nbformat.NotebookNode]:
    return {tag: cell for cell in notebook.cells for tag in cell.metadata.get("tags", [])}


def shown_text(cell) -> str:
    """What the user reads under a cell: printed lines and the plain form of displayed values."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stdout":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def shown_images(cell) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(base64.b64decode(output.data["image/png"])))
        for output in cell.outputs
        if "data" in output and "image/png" in output.data
    ]


def run_notebook(**values: str) -> dict[str, nbformat.NotebookNode]:
    """Execute the notebook as Jupyter would, `values` set after its parameters cell; its
    tagged cells, with their outputs."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    settings_cell(notebook, **values)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # where Jupyter starts it
    )
    client.execute()
    return tagged(notebook)


def settings_cell(notebook, **values: str) -> int:
    """Insert a cell setting `values` after the one tagged `parameters`; its index."""
    parameters = next(
        index
        for index, cell in enumerate(notebook.cells)
        if "parameters" in cell.metadata.get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    notebook.cells.insert(parameters + 1, new_code_cell(source))
    return parameters + 1


@pytest.mark.slow
def test_notebook_shows_versions_plots_and_the_service(served_model, tmp_path):
    production = Client().get_model_version(served_model, ModelStages.PRODUCTION)
    accuracy = production.run_metadata["test_accuracy"]
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    at = settings_cell(
        notebook, CONFIG=str(model_config(tmp_path, served_model)), SERVICE_URL=nobody_listens
    )
    # Jupyter shows the tables as HTML; their plain-text form, read here, must not wrap
    # (it does at 80 characters once longer run names are listed).
    notebook.cells.insert(
        at + 1, new_code_cell('__import__("pandas").set_option("display.width", 400)')
    )
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # where Jupyter starts it
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        cells = tagged(notebook)

        versions = shown_text(cells["versions"])
        row = re.search(rf"^{production.number}\s+production\s+([\d.]+)", versions, re.M)
        assert row, versions
        assert float(row.group(1)) == pytest.approx(round(accuracy, 4))
        assert f"version(s) of model {served_model}" in versions
        runs = shown_text(cells["runs"])
        assert re.search(r"training\s+completed\s+" + str(production.number), runs), runs

        for name in ("metrics-plot", "confusion-matrix"):
            images = shown_images(cells[name])
            assert len(images) == 1, shown_text(cells[name])
            assert min(images[0].size) >= 300, (name, images[0].size)
        # Under the picture, the same matrix as numbers: one row and column per class.
        matrix = shown_text(cells["confusion-matrix"])
        assert "predicted" in matrix and "true" in matrix, matrix

        assert shown_text(cells["live-metrics"]).strip() == (
            f"No monitoring run of {served_model} yet: `python run.py monitor` makes one."
        )
        assert shown_text(cells["service"]).strip() == (
            f"The service is not running at {nobody_listens}: start it with `make serve`, "
            "then run this cell again."
        )

        # The user starts the service and runs the cell again.
        log = tmp_path / "serve.log"
        url, server = start_server(".", REPO / "service", log, SERVING_MODEL=served_model)
        try:
            notebook.cells.append(new_code_cell(f"SERVICE_URL = {url!r}"))
            client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
            client.execute_cell(cells["service"], notebook.cells.index(cells["service"]))
        finally:
            stop_server(server)
    answer = shown_text(cells["service"])
    assert f"serves {served_model} version {production.number}" in answer, answer
    classes = "|".join(map(re.escape, production.run_metadata["classes"]))
    rows = re.findall(rf"^\d+\s+({classes})\s+({classes})\s+[\d.]+", answer, re.M)
    assert len(rows) == 2 * len(production.run_metadata["classes"]), answer  # two per class
    assert sum(truth == label for truth, label in rows) > len(rows) / 2, rows


def test_notebook_cells_are_tagged_for_the_tests():
    """The slow test finds what the user sees by these tags: renaming one must fail fast."""
    tags = set(tagged(nbformat.read(NOTEBOOK, as_version=4)))
    assert {
        "parameters",
        "runs",
        "versions",
        "metrics-plot",
        "confusion-matrix",
        "live-metrics",
        "service",
    } <= tags
