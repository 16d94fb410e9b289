"""The image commands say what to do when they cannot go on (no container tool needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.helpers import REPO, run_cli


def image(tmp_path, *args: str, **env_overrides: str):
    env = {**os.environ, "IRIS_BUILD_DIR": str(tmp_path), **env_overrides}
    return run_cli("image", *args, cwd=REPO, timeout=120, env=env)


def test_run_and_push_need_a_built_image(tmp_path):
    for args in (("run", "--backend", "podman"), ("push", "localhost:5000/ml")):
        result = image(tmp_path, *args)
        assert result.returncode == 1
        assert "No image built yet: run `make containerize` first." in result.stderr
    assert not (tmp_path / "image.json").exists()


def test_run_and_push_use_the_tool_that_built_the_image(tmp_path):
    """An image buildah built lives in podman's store: run and push go there unless told."""
    record = {"image": "iris_classifier_service:not-built", "backend": "buildah"}
    (tmp_path / "image.json").write_text(json.dumps(record))
    ran = image(tmp_path, "run", "--port", "9")
    assert "Serving iris_classifier_service:not-built with podman on " in ran.stdout
    assert ran.returncode != 0 and "docker" not in ran.stderr.lower()
    pushed = image(tmp_path, "push", "127.0.0.1:9/ml")
    assert pushed.returncode == 1 and "docker" not in pushed.stderr.lower()
    assert "podman" in pushed.stderr, pushed.stderr
    told = image(tmp_path, "push", "127.0.0.1:9/ml", "--backend", "docker")
    assert told.returncode == 1 and "docker" in told.stderr.lower(), told.stderr


def test_run_settings_must_be_key_value(tmp_path):
    result = image(tmp_path, "run", "--backend", "podman", "-e", "SERVING_WORKERS")
    assert result.returncode == 2
    assert "expected KEY=VALUE, got SERVING_WORKERS" in result.stderr


def test_docker_backend_without_an_engine_points_to_podman(tmp_path):
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        pytest.skip("a Docker engine answers here")
    result = image(tmp_path, "build", "--backend", "docker")
    assert result.returncode == 1
    assert (
        "No Docker engine answers" in result.stderr and "BACKEND=podman" in result.stderr
    ) or "'docker' is not installed" in result.stderr
    assert not (tmp_path / "image.json").exists()


def test_push_image_without_a_registry_says_how():
    result = subprocess.run(
        ["make", "--no-print-directory", "push-image"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "Set REGISTRY, e.g. make push-image REGISTRY=localhost:5000/iris" in result.stdout


def test_offline_builds_need_podman_or_buildah_and_wheels(tmp_path):
    result = image(tmp_path, "build", "--backend", "docker", "--wheelhouse", str(tmp_path))
    assert result.returncode == 1
    assert "Offline builds mount the wheelhouse: use BACKEND=podman or buildah." in result.stderr

    result = image(tmp_path, "build", "--backend", "buildah", "--wheelhouse", str(tmp_path))
    assert result.returncode == 1
    assert f"No wheels in {tmp_path}: run `make wheelhouse` first." in result.stderr


def test_containerize_with_nothing_promoted_says_what_to_do(tmp_path):
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    env = {"BENTOML_HOME": str(tmp_path / "empty-bentoml")}
    result = image(tmp_path, "build", "--backend", "podman", **env)
    assert result.returncode == 1
    assert "No model 'iris_classifier' in the BentoML store" in result.stderr
    assert "make run" in result.stderr
    assert not (tmp_path / "image.json").exists()
