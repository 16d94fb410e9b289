"""The image ZenML builds for steps that run outside the client (docker, kubernetes stacks).

The settings are the ones that build a working step image without a public registry
(tests/stack/test_docker_stack_run.py runs them): a Dockerfile whose only line is
`FROM <base>` (with `parent_image` instead, ZenML decides podman's local image is not local
and forces a pull), the locked dependencies exported by uv, and nothing ZenML would add
unpinned.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from pipelines.project_paths import PROJECT_ROOT

IN_PROCESS_FLAVORS = ("local",)  # orchestrators that run steps in the client's process
LOCAL_STORES_VARIABLE = "ZENML_LOCAL_STORES_PATH"


def base_image() -> str:
    """IRIS_STEP_BASE_IMAGE; else the project's own base (`make base-image`) when the Docker
    API's store has it; else the bento's public base, which the build pulls."""
    from deploy.containers import LOCAL_BASE_IMAGE
    from deploy.containers import base_image as public_base_image
    from stack.settings import step_image_settings

    if configured := step_image_settings().base_image:
        return configured
    return LOCAL_BASE_IMAGE if docker_api_has(LOCAL_BASE_IMAGE) else public_base_image()


def docker_api_has(reference: str) -> bool:
    """Whether the image is in the store of the Docker API at DOCKER_HOST (podman's too)."""
    import docker

    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException:
        return False
    try:
        client.images.get(reference)
        return True
    except docker.errors.DockerException:
        return False
    finally:
        client.close()


def step_dockerfile(base: str, folder: Path) -> Path:
    """A Dockerfile of one line, `FROM base`, written only when it changes.

    ZenML hashes its content into the build checksum, so another base means another image.
    """
    path = folder / "step-image" / "Dockerfile"
    content = f"FROM {base}\n"
    if not path.is_file() or path.read_text() != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return path


def uv_executable() -> str:
    uv = Path(sys.executable).with_name("uv")
    return str(uv) if uv.exists() else shutil.which("uv") or "uv"


def export_command(groups: tuple[str, ...] = ()) -> list[str]:
    """uv.lock as pinned requirements: frozen, no hashes, no project, no dev group.

    ZenML joins the words with spaces and runs them in a shell, hence the quoting.
    """
    words = [uv_executable(), "export", "--project", str(PROJECT_ROOT), "--frozen", "--no-hashes"]
    words += ["--no-emit-project", "--no-dev", "--no-header", "--no-annotate", "--quiet"]
    for group in groups:
        words += ["--group", group]
    return [shlex.quote(word) for word in words]


def target_repository(repository: str, has_registry: bool) -> str:
    """Where the image is tagged: under the stack's registry, else under `localhost/`.

    ZenML's default repository `zenml` means `docker.io/library/zenml`; `localhost/` names
    an image that no engine will try to pull from a public registry.
    """
    return repository if has_registry else f"localhost/{repository}"


REMOVE_BUILD_CONTAINERS = {"rm": True, "forcerm": True}


def docker_settings_values(
    dockerfile: Path, repository: str, groups: tuple[str, ...] = ()
) -> dict[str, Any]:
    """ZenML's DockerSettings for the step image, as plain data."""
    return {
        "dockerfile": str(dockerfile),
        "python_package_installer": "uv",
        # Bytecode compiled once in the image: otherwise every step container compiles
        # what it imports again (measured: imports 11.6 s -> 5.7 s per container, +240 MB).
        "python_package_installer_args": {"compile-bytecode": None},
        # The base image's Python has no virtualenv: `uv pip install` goes to the system.
        "environment": {"UV_SYSTEM_PYTHON": "1"},
        "pyproject_path": str(PROJECT_ROOT / "pyproject.toml"),
        "pyproject_export_command": export_command(groups),
        # The lock already pins s3fs/boto3/kubernetes; ZenML would add them unpinned.
        "install_stack_requirements": False,
        "target_repository": repository,
        # docker-py builds with rm=False unless told: through podman's Docker API each build
        # then left buildah working containers (and their overlay mounts) behind. Two builds:
        # the one-line Dockerfile's (the parent image), then ZenML's layers on top.
        "parent_image_build_config": {"build_options": REMOVE_BUILD_CONTAINERS},
        "build_config": {"build_options": REMOVE_BUILD_CONTAINERS},
    }


def isolate_local_stores(config_directory: Path) -> Path:
    """Point ZenML's local stores at an empty folder for this process, unless set already.

    `local_docker` bind-mounts the client's local stores folder read-write into every step
    container; with a local ZenML server that folder holds the server's database (secrets
    included). Steps on a container stack keep nothing there (artifacts live in S3).
    """
    if LOCAL_STORES_VARIABLE not in os.environ:
        folder = config_directory / "container_local_stores"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[LOCAL_STORES_VARIABLE] = str(folder)
    return Path(os.environ[LOCAL_STORES_VARIABLE])


def pipeline_settings() -> dict[str, Any]:
    """The settings to run a pipeline with on the active stack: `{}` when steps run in
    this process, else `{"docker": DockerSettings(...)}` for `pipeline.with_options`.

    For container stacks it also makes the project root ZenML's source root (the code
    archive the steps download is taken from it; an entry script elsewhere would leave
    `steps` out) and keeps the local stores out of step containers. Raises
    StackSettingsError when a step image setting is invalid.
    """
    from zenml.client import Client
    from zenml.config import DockerSettings
    from zenml.config.global_config import GlobalConfiguration
    from zenml.enums import StackComponentType
    from zenml.utils import source_utils

    from deploy.containers import build_dir
    from stack.settings import step_image_settings

    components = Client().active_stack_model.components
    flavor = components[StackComponentType.ORCHESTRATOR][0].flavor_name
    if flavor in IN_PROCESS_FLAVORS:
        return {}
    source_utils.set_custom_source_root(str(PROJECT_ROOT))
    if flavor == "local_docker":
        isolate_local_stores(Path(GlobalConfiguration().config_directory))
    has_registry = bool(components.get(StackComponentType.CONTAINER_REGISTRY))
    settings = step_image_settings()
    values = docker_settings_values(
        step_dockerfile(base_image(), build_dir()),
        target_repository(settings.repository, has_registry),
        # Pods load the stack's Kubernetes orchestrator, which imports the client.
        ("kubernetes",) if flavor == "kubernetes" else (),
    )
    return {"docker": DockerSettings(**values)}
