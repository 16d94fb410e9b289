"""The step image settings as plain data, and the requirements they export from uv.lock."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.project_paths import PROJECT_ROOT
from stack.images import (
    LOCAL_STORES_VARIABLE,
    docker_settings_values,
    export_command,
    isolate_local_stores,
    pipeline_settings,
    step_dockerfile,
    target_repository,
)


def test_the_dockerfile_is_one_from_line_rewritten_only_when_the_base_changes(tmp_path: Path):
    path = step_dockerfile("localhost/base:1", tmp_path)
    assert path.read_text() == "FROM localhost/base:1\n"
    written = path.stat().st_mtime_ns
    assert step_dockerfile("localhost/base:1", tmp_path).stat().st_mtime_ns == written
    assert step_dockerfile("localhost/base:2", tmp_path).read_text() == "FROM localhost/base:2\n"


def test_images_are_named_under_localhost_unless_a_registry_takes_them():
    assert target_repository("iris-mlops-steps", has_registry=False) == "localhost/iris-mlops-steps"
    assert target_repository("iris-mlops-steps", has_registry=True) == "iris-mlops-steps"


def test_the_settings_avoid_every_unpinned_or_pulled_thing(tmp_path: Path):
    values = docker_settings_values(tmp_path / "Dockerfile", "localhost/x")
    assert values["dockerfile"] == str(tmp_path / "Dockerfile")
    assert "parent_image" not in values  # it would force a pull under podman
    assert values["python_package_installer"] == "uv"
    assert values["python_package_installer_args"] == {"compile-bytecode": None}
    assert values["environment"] == {"UV_SYSTEM_PYTHON": "1"}
    assert values["pyproject_path"] == str(PROJECT_ROOT / "pyproject.toml")
    assert values["install_stack_requirements"] is False
    assert values["target_repository"] == "localhost/x"

    from zenml.config import DockerSettings

    settings = DockerSettings(**values)
    assert settings.dockerfile == values["dockerfile"]
    # What ZenML hands docker-py's build: remove the build's containers, even on failure.
    for config in (settings.parent_image_build_config, settings.build_config):
        assert config.build_options.to_docker_python_sdk_options() == {"rm": True, "forcerm": True}


def exported(groups: tuple[str, ...] = ()) -> list[str]:
    """What ZenML runs: the words joined by spaces, in a shell."""
    command = " ".join(export_command(groups))
    result = subprocess.run(command, shell=True, capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_export_is_the_locked_runtime_without_hashes_project_or_dev_tools():
    lines = exported()
    names = {line.split("==")[0] for line in lines if "==" in line}
    assert "zenml==0.98.0" in lines and "bentoml==1.4.40" in lines
    assert not [line for line in lines if "--hash" in line or line.startswith(("-e", "#"))]
    assert not names & {"iris-mlops", "pytest", "ruff", "moto", "playwright", "uv"}
    assert "kubernetes" not in names


def test_the_kubernetes_export_adds_the_client_pods_import():
    names = {line.split("==")[0] for line in exported(("kubernetes",))}
    assert "kubernetes" in names and "pytest" not in names


def test_local_stores_point_at_an_empty_folder_unless_set(tmp_path, monkeypatch):
    # Recorded by monkeypatch first, so the variable the function sets is undone afterwards.
    monkeypatch.setenv(LOCAL_STORES_VARIABLE, "unset below")
    monkeypatch.delenv(LOCAL_STORES_VARIABLE)
    folder = isolate_local_stores(tmp_path)
    assert folder == tmp_path / "container_local_stores" and folder.is_dir()
    assert list(folder.iterdir()) == []
    monkeypatch.setenv(LOCAL_STORES_VARIABLE, "/chosen/by/user")
    assert isolate_local_stores(tmp_path) == Path("/chosen/by/user")


@pytest.mark.slow
def test_the_local_stack_needs_no_image_settings():
    """The test session's store is ZenML's embedded default: steps run in this process."""
    assert pipeline_settings() == {}
