"""`bentoml build` makes a bento that holds the model and serves on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement
from zenml.client import Client
from zenml.enums import ModelStages

from tests.helpers import REPO, bentoml, model_config, run_cli
from tests.service.conftest import start_server, stop_server

BENTOFILE = REPO / "service" / "bentofile.yaml"
REQUIREMENTS = REPO / "service" / "requirements.txt"


def test_bento_requirements_are_the_locked_versions(tmp_path):
    """The image installs exactly what uv.lock pins, so it serves what the tests ran."""
    assert yaml.safe_load(BENTOFILE.read_text())["python"]["requirements_txt"] == REQUIREMENTS.name
    exported = tmp_path / "requirements.txt"
    subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "uv"),
            "export",
            "--frozen",
            "--only-group",
            "serving",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--output-file",
            str(exported),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    assert REQUIREMENTS.read_text() == exported.read_text(), "run `make requirements`"
    requirements = [Requirement(line) for line in REQUIREMENTS.read_text().splitlines()]
    pins = {
        r.name: str(r.specifier).removeprefix("==")
        for r in requirements
        if r.marker is None or r.marker.evaluate()  # the image's Python is this one, 3.11
    }
    for name in ("bentoml", "scikit-learn", "numpy", "scipy", "pydantic"):
        assert pins[name] == version(name), f"{name}: installed {version(name)}"


def test_the_dockerfile_starts_from_the_base_its_build_argument_names(monkeypatch):
    """Our template swaps the FROM line of BentoML's own for `FROM ${BASE_IMAGE}` (defaulting
    to the bentofile's public base), so `make containerize` can start from the local base
    under its own name. A BentoML whose FROM line reads otherwise fails here, not in a build."""
    from bentoml._internal.bento.build_config import CondaOptions, DockerOptions
    from bentoml._internal.container.generate import generate_containerfile

    from deploy.containers import base_image

    docker = yaml.safe_load(BENTOFILE.read_text())["docker"]
    monkeypatch.chdir(REPO / "service")  # BentoML reads templates under the working directory
    dockerfile = generate_containerfile(
        DockerOptions(**docker).with_defaults(),
        str(REPO / "service"),
        conda=CondaOptions().with_defaults(),
        bento_fs=REPO / "service",
    )
    froms = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE_IMAGE} as base-container"]
    assert f"ARG BASE_IMAGE={base_image()}" in dockerfile.split(froms[0])[0]


@pytest.mark.slow
def test_built_bento_carries_the_model_and_serves_from_another_store(served_model, tmp_path):
    home = Path(os.environ["BENTOML_HOME"])
    config = model_config(tmp_path, served_model)
    built = run_cli("--config", str(config), "bento", cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tag = built.stdout.strip().splitlines()[-1].rpartition("bentoml serve ")[2]
    assert tag.startswith(f"{served_model}_service:")  # the bento is named after its model
    archive = tmp_path / "service.bento"
    bentoml("export", tag, str(archive), cwd=tmp_path, home=home)

    # A store that has never seen the model: everything must come from the archive.
    elsewhere = tmp_path / "other-bentoml-home"
    bentoml("import", str(archive), cwd=tmp_path, home=elsewhere)
    listed = bentoml("models", "list", "-o", "json", cwd=tmp_path, home=elsewhere)
    assert served_model in listed

    # No setting names the model: the bento recorded it.
    url, process = start_server(tag, tmp_path, tmp_path / "serve.log", BENTOML_HOME=str(elsewhere))
    try:
        response = httpx.post(
            f"{url}/predict",
            json={
                "records": [
                    {
                        "sepal_length": 6.3,
                        "sepal_width": 3.3,
                        "petal_length": 6.0,
                        "petal_width": 2.5,
                    }
                ]
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["predictions"][0]["label"] == "virginica"
        production = Client().get_model_version(served_model, ModelStages.PRODUCTION)
        assert response.json()["model_version"] == str(production.number)
        assert httpx.get(f"{url}/ui").status_code == 200
    finally:
        stop_server(process)


def serve_from_an_empty_store(tmp_path: Path, *args: str) -> tuple[int, str]:
    """`cd service && bentoml serve ARGS` with an empty store: its exit status and output."""
    result = subprocess.run(
        [sys.executable, "-m", "bentoml", "serve", "--port", "0", *args],
        cwd=REPO / "service",
        env={**os.environ, "BENTOML_HOME": str(tmp_path / "empty")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_serving_with_nothing_promoted_says_what_to_do(tmp_path):
    status, output = serve_from_an_empty_store(tmp_path)
    assert status != 0
    assert "No exported model in the BentoML store" in output
    assert "make run" in output

    # A model named, and not in the store: the message names it.
    status, output = serve_from_an_empty_store(tmp_path, "--arg", "model=churn_model")
    assert status != 0
    assert "No model 'churn_model' in the BentoML store" in output
