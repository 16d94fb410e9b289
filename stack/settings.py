"""Where a stack's settings come from: environment variables first, then stack/settings.yaml.

Credentials are read from the environment only (the standard AWS variables), so they never
sit in a file that could end up in git; `stack s3` stores them in a ZenML secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

SETTINGS_FILE = Path(__file__).with_name("settings.yaml")
SETTINGS_FILE_VARIABLE = "IRIS_STACK_SETTINGS"

# setting name -> environment variable that overrides the file
S3_VARIABLES = {
    "bucket": "IRIS_S3_BUCKET",
    "endpoint_url": "IRIS_S3_ENDPOINT_URL",
    "region": "AWS_DEFAULT_REGION",
}
KUBERNETES_VARIABLES = {
    "context": "IRIS_K8S_CONTEXT",
    "namespace": "IRIS_K8S_NAMESPACE",
    "registry_uri": "IRIS_CONTAINER_REGISTRY_URI",
    "registry_insecure": "IRIS_CONTAINER_REGISTRY_INSECURE",
}
DOCKER_VARIABLES = {
    "registry_uri": "IRIS_DOCKER_REGISTRY_URI",
    "registry_insecure": "IRIS_DOCKER_REGISTRY_INSECURE",
}
STEP_IMAGE_VARIABLES = {
    "base_image": "IRIS_STEP_BASE_IMAGE",
    "repository": "IRIS_STEP_IMAGE_REPOSITORY",
}
CREDENTIAL_VARIABLES = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
}


class StackSettingsError(Exception):
    """A stack cannot be registered with the settings given; the message says what is missing."""


class S3Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str
    endpoint_url: str | None = None  # None: AWS itself
    region: str = "us-east-1"

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else None

    @property
    def endpoint(self) -> str:
        """The endpoint a user would recognise in an error message."""
        return self.endpoint_url or f"https://s3.{self.region}.amazonaws.com"

    @property
    def artifact_path(self) -> str:
        return f"s3://{self.bucket}/zenml"


class KubernetesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: str
    namespace: str = "zenml"
    registry_uri: str
    registry_insecure: bool = False  # plain HTTP; loopback registries always are


class DockerStackSettings(BaseModel):
    """The docker stack's own settings: all optional (a registry only lets builds be reused)."""

    model_config = ConfigDict(extra="forbid")

    registry_uri: str | None = None
    registry_insecure: bool = False


class StepImageSettings(BaseModel):
    """The image ZenML builds for steps that run outside the client (docker, kubernetes)."""

    model_config = ConfigDict(extra="forbid")

    base_image: str | None = None  # None: the image `make base-image` builds
    repository: str = "iris-mlops-steps"


def settings_file() -> Path:
    return Path(os.environ.get(SETTINGS_FILE_VARIABLE, SETTINGS_FILE))


def _section(name: str) -> dict[str, Any]:
    path = settings_file()
    if not path.is_file():
        return {}
    content = yaml.safe_load(path.read_text()) or {}
    section = content.get(name) or {}
    if not isinstance(section, dict):
        raise StackSettingsError(f"{path}: '{name}' must be a mapping of settings")
    return section


def _load(model: type[BaseModel], section: str, variables: dict[str, str]):
    values = _section(section)
    values.update({key: os.environ[var] for key, var in variables.items() if os.environ.get(var)})
    try:
        return model(**values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = str(item["loc"][0])
            variable = f"{variables[key]} or " if key in variables else ""
            where = f"{variable}'{section}.{key}' in {settings_file()}"
            if item["type"] == "missing":
                problems.append(f"{key} is not set (set {where})")
            else:
                problems.append(f"{key}: {item['msg']} ({where})")
        label = {"step_image": "step image"}.get(section, f"{section} stack")
        raise StackSettingsError(f"The {label} needs settings: " + "; ".join(problems)) from None


def s3_settings() -> S3Settings:
    return _load(S3Settings, "s3", S3_VARIABLES)


def kubernetes_settings() -> KubernetesSettings:
    return _load(KubernetesSettings, "kubernetes", KUBERNETES_VARIABLES)


def docker_settings() -> DockerStackSettings:
    return _load(DockerStackSettings, "docker", DOCKER_VARIABLES)


def step_image_settings() -> StepImageSettings:
    return _load(StepImageSettings, "step_image", STEP_IMAGE_VARIABLES)


def s3_credentials() -> dict[str, str]:
    """AWS credentials from the environment (empty: keep the stored secret, or AWS's defaults)."""
    return {key: os.environ[v] for key, v in CREDENTIAL_VARIABLES.items() if os.environ.get(v)}
