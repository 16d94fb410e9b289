"""The stack recipes: which ZenML components make up each stack, as plain data.

`local` is ZenML's embedded default stack. `s3` keeps the local orchestrator and puts the
artifacts in S3. `docker` runs every step in a container on this machine (ZenML's
`local_docker` orchestrator, through a Docker API: a Docker engine or podman's socket), with
artifacts in S3. `kubernetes` runs every step as a pod on a cluster, with artifacts in S3,
images built through the local Docker API and pushed to the team's registry. Both container
stacks need a ZenML server (stack/checks.py) and build the step image of stack/images.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stack.checks import is_loopback

if TYPE_CHECKING:
    from stack.settings import DockerStackSettings, KubernetesSettings, S3Settings

RECIPES = ("local", "s3", "docker", "kubernetes")
DEFAULT_STACK = "default"  # ZenML's own name for the embedded default stack (`local`)
SECRET_NAME = "s3-credentials"  # a ZenML secret: AWS key id, secret key, session token
SECRET_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# Step containers share the host's network, so they reach a ZenML server and an S3 endpoint
# on loopback as the client does (podman honours it too). The label lets a user find and
# prune them (`podman container prune --filter label=iris-mlops.step-container`).
DOCKER_RUN_ARGS = {"network_mode": "host", "labels": {"iris-mlops.step-container": "true"}}


@dataclass(frozen=True)
class Component:
    type: str  # a ZenML StackComponentType value: "orchestrator", "artifact_store", ...
    name: str
    flavor: str
    configuration: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    stack_name: str
    components: tuple[Component, ...]


def zenml_stack_name(recipe: str) -> str:
    return DEFAULT_STACK if recipe == "local" else recipe


# botocore's own defaults wait 60 s per read and retry each call (and s3fs retries each call
# 5 times on top): an endpoint that stops answering mid-run would hang a step for many
# minutes. These end such a run in about a minute with the endpoint named; a healthy S3
# answers each request well within them.
S3_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 10, "retries": {"total_max_attempts": 1}}


def s3_artifact_store(settings: S3Settings, secret_keys: tuple[str, ...]) -> Component:
    """The S3 artifact store; credentials are `{{secret.key}}` references, never values."""
    configuration: dict = {
        "path": settings.artifact_path,
        "client_kwargs": {"region_name": settings.region}
        | ({"endpoint_url": settings.endpoint_url} if settings.endpoint_url else {}),
        "config_kwargs": S3_TIMEOUTS,
    }
    names = {"aws_access_key_id": "key", "aws_secret_access_key": "secret"}
    names["aws_session_token"] = "token"
    for key in secret_keys:
        configuration[names[key]] = f"{{{{{SECRET_NAME}.{key}}}}}"
    return Component("artifact_store", "s3-artifact-store", "s3", configuration)


def s3_recipe(settings: S3Settings, secret_keys: tuple[str, ...]) -> Recipe:
    return Recipe(
        "s3",
        (
            Component("orchestrator", "default", "local"),
            s3_artifact_store(settings, secret_keys),
        ),
    )


def docker_recipe(
    settings: DockerStackSettings, s3: S3Settings, secret_keys: tuple[str, ...]
) -> Recipe:
    components = [
        Component(
            "orchestrator", "docker-orchestrator", "local_docker", {"run_args": DOCKER_RUN_ARGS}
        ),
        s3_artifact_store(s3, secret_keys),
        Component("image_builder", "local-image-builder", "local"),
    ]
    if settings.registry_uri:
        components.append(
            Component(
                "container_registry", "docker-registry", "default", {"uri": settings.registry_uri}
            )
        )
    return Recipe("docker", tuple(components))


def kubernetes_recipe(
    settings: KubernetesSettings, s3: S3Settings, secret_keys: tuple[str, ...]
) -> Recipe:
    return Recipe(
        "kubernetes",
        (
            Component(
                "orchestrator",
                "k8s-orchestrator",
                "kubernetes",
                {
                    "kubernetes_context": settings.context,
                    "kubernetes_namespace": settings.namespace,
                    # ZenML refuses a loopback registry for a cluster it takes as remote; one
                    # on this machine (kind, k3d, minikube) pulls from exactly such a registry.
                    "skip_local_validations": is_loopback(settings.registry_uri),
                },
            ),
            s3_artifact_store(s3, secret_keys),
            Component(
                "container_registry", "k8s-registry", "default", {"uri": settings.registry_uri}
            ),
            Component("image_builder", "k8s-image-builder", "local"),
        ),
    )
