"""Placeholder until the docker stack lands: no settings for in-process orchestrators."""

from __future__ import annotations

from typing import Any


def pipeline_settings() -> dict[str, Any]:
    return {}
