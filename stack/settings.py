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
            where = f"{variables[key]} or '{section}.{key}' in {settings_file()}"
            if item["type"] == "missing":
                problems.append(f"{key} is not set (set {where})")
            else:
                problems.append(f"{key}: {item['msg']} ({where})")
        raise StackSettingsError(
            f"The {section} stack needs settings: " + "; ".join(problems)
        ) from None


def s3_settings() -> S3Settings:
    return _load(S3Settings, "s3", S3_VARIABLES)


def kubernetes_settings() -> KubernetesSettings:
    return _load(KubernetesSettings, "kubernetes", KUBERNETES_VARIABLES)


def s3_credentials() -> dict[str, str]:
    """AWS credentials from the environment (empty: keep the stored secret, or AWS's defaults)."""
    return {key: os.environ[v] for key, v in CREDENTIAL_VARIABLES.items() if os.environ.get(v)}
