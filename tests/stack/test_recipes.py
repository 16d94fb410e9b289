"""Stack settings and recipes as plain data, and the messages a user gets when one is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from stack.recipes import kubernetes_recipe, s3_recipe
from stack.settings import (
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


def test_stack_kubernetes_without_settings_names_what_is_missing(tmp_path: Path):
    result = run_cli("stack", "kubernetes", cwd=REPO, env=isolated_env(tmp_path))
    assert result.returncode == 1
    assert "Stack not changed: The s3 stack needs settings: bucket is not set" in result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("kubernetes") is not None, reason="the kubernetes group is installed"
)
def test_stack_kubernetes_without_the_client_says_how_to_install_it(tmp_path: Path):
    env = isolated_env(tmp_path) | {
        "IRIS_S3_BUCKET": "team-bucket",
        "IRIS_K8S_CONTEXT": "prod",
        "IRIS_CONTAINER_REGISTRY_URI": "registry.example.com/iris",
    }
    result = run_cli("stack", "kubernetes", cwd=REPO, env=env)
    assert result.returncode == 1
    assert "run `uv sync --group kubernetes`" in result.stderr
