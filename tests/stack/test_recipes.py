"""Stack settings and recipes as plain data, and the messages a user gets when one is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stack.recipes import S3_TIMEOUTS, docker_recipe, kubernetes_recipe, s3_recipe
from stack.settings import (
    DockerStackSettings,
    KubernetesSettings,
    S3Settings,
    StackSettingsError,
    kubernetes_settings,
    s3_settings,
)
from tests.helpers import REPO, run_cli
from tests.stack.conftest import isolated_env


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("IRIS_S3_BUCKET", "IRIS_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name in ("IRIS_K8S_CONTEXT", "IRIS_K8S_NAMESPACE", "IRIS_CONTAINER_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    for name in ("IRIS_STEP_BASE_IMAGE", "IRIS_STEP_IMAGE_REPOSITORY", "IRIS_DOCKER_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    settings = tmp_path / "settings.yaml"
    monkeypatch.setenv("IRIS_STACK_SETTINGS", str(settings))
    return settings


def test_missing_s3_settings_are_named_with_their_variable(no_settings: Path):
    with pytest.raises(StackSettingsError, match="bucket is not set \\(set IRIS_S3_BUCKET or"):
        s3_settings()


def test_the_file_gives_settings_and_variables_win(no_settings, monkeypatch):
    no_settings.write_text("s3:\n  bucket: from-file\n  endpoint_url: http://files:9000/\n")
    assert s3_settings() == S3Settings(bucket="from-file", endpoint_url="http://files:9000")
    monkeypatch.setenv("IRIS_S3_BUCKET", "from-env")
    assert s3_settings().bucket == "from-env"


def test_a_bad_endpoint_is_refused(no_settings, monkeypatch):
    monkeypatch.setenv("IRIS_S3_BUCKET", "b")
    monkeypatch.setenv("IRIS_S3_ENDPOINT_URL", "127.0.0.1:9000")
    with pytest.raises(StackSettingsError, match=r"endpoint_url: .*http:// or https://"):
        s3_settings()


def test_every_missing_kubernetes_setting_is_named(no_settings: Path):
    with pytest.raises(StackSettingsError) as error:
        kubernetes_settings()
    assert "IRIS_K8S_CONTEXT" in str(error.value)
    assert "IRIS_CONTAINER_REGISTRY_URI" in str(error.value)
    assert "IRIS_K8S_NAMESPACE" not in str(error.value)  # it has a default


def test_recipes_hold_secret_references_never_values():
    s3 = S3Settings(bucket="team-bucket", endpoint_url="http://minio:9000", region="eu-west-1")
    keys = ("aws_access_key_id", "aws_secret_access_key")
    store = s3_recipe(s3, keys).components[1]
    assert store.configuration == {
        "path": "s3://team-bucket/zenml",
        "client_kwargs": {"region_name": "eu-west-1", "endpoint_url": "http://minio:9000"},
        "config_kwargs": S3_TIMEOUTS,  # an endpoint that stops answering fails a step in time
        "key": "{{s3-credentials.aws_access_key_id}}",
        "secret": "{{s3-credentials.aws_secret_access_key}}",
    }
    cluster = KubernetesSettings(context="prod", registry_uri="registry.example.com/iris")
    recipe = kubernetes_recipe(cluster, s3, keys)
    assert {c.type: c.flavor for c in recipe.components} == {
        "orchestrator": "kubernetes",
        "artifact_store": "s3",
        "container_registry": "default",
        "image_builder": "local",
    }
    assert recipe.components[0].configuration["kubernetes_namespace"] == "zenml"
    assert recipe.components[0].configuration["skip_local_validations"] is False
    # A registry on this machine serves a cluster on this machine (kind, k3d): ZenML would
    # refuse it as "local" at every run.
    on_this_machine = KubernetesSettings(context="kind-dev", registry_uri="localhost:5001/iris")
    orchestrator = kubernetes_recipe(on_this_machine, s3, keys).components[0]
    assert orchestrator.configuration["skip_local_validations"] is True


def test_the_docker_recipe_runs_steps_in_containers_on_the_host_network():
    s3 = S3Settings(bucket="b", endpoint_url="http://127.0.0.1:9000")
    recipe = docker_recipe(DockerStackSettings(), s3, ())
    assert {c.type: c.flavor for c in recipe.components} == {
        "orchestrator": "local_docker",
        "artifact_store": "s3",
        "image_builder": "local",
    }
    run_args = recipe.components[0].configuration["run_args"]
    assert run_args["network_mode"] == "host"  # reaches a loopback server and S3
    assert recipe.components[1].configuration == {
        "path": "s3://b/zenml",
        "client_kwargs": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9000"},
        "config_kwargs": S3_TIMEOUTS,
    }
    with_registry = docker_recipe(DockerStackSettings(registry_uri="127.0.0.1:5000/ml"), s3, ())
    registry = with_registry.components[-1]
    assert (registry.type, registry.configuration) == (
        "container_registry",
        {"uri": "127.0.0.1:5000/ml"},
    )


def test_step_image_and_docker_settings_come_from_variables(no_settings, monkeypatch):
    from stack.settings import docker_settings, step_image_settings

    assert step_image_settings().base_image is None  # the image `make base-image` builds
    assert docker_settings() == DockerStackSettings()
    monkeypatch.setenv("IRIS_STEP_BASE_IMAGE", "localhost/python:3.11")
    monkeypatch.setenv("IRIS_DOCKER_REGISTRY_URI", "127.0.0.1:5000/ml")
    monkeypatch.setenv("IRIS_DOCKER_REGISTRY_INSECURE", "true")
    assert step_image_settings().base_image == "localhost/python:3.11"
    assert docker_settings() == DockerStackSettings(
        registry_uri="127.0.0.1:5000/ml", registry_insecure=True
    )


def test_an_unknown_key_in_the_file_is_named(no_settings):
    no_settings.write_text("docker:\n  registry: x\n")
    from stack.settings import docker_settings

    with pytest.raises(StackSettingsError, match=r"registry: Extra inputs .*'docker.registry' in"):
        docker_settings()


def test_stack_kubernetes_without_settings_names_what_is_missing(tmp_path: Path):
    result = run_cli("stack", "kubernetes", cwd=REPO, env=isolated_env(tmp_path))
    assert result.returncode == 1
    assert "Stack not changed: The s3 stack needs settings: bucket is not set" in result.stderr


def test_without_the_kubernetes_client_the_switch_says_how_to_install_it(monkeypatch):
    from stack.switch import require_kubernetes_client

    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if not installed
    with pytest.raises(StackSettingsError) as error:
        require_kubernetes_client()
    assert "run `make install-kubernetes` (or `uv sync --group kubernetes`)" in str(error.value)
