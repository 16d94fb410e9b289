"""Helpers for tests that drive the project the way a user does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def shipped_config() -> dict[str, Any]:
    """configs/training.yaml as a dict, fresh on each call so tests may change it."""
    return yaml.safe_load((REPO / "configs" / "training.yaml").read_text())


def training_config(folder: Path, dataset_path: Path, model_name: str, **parameters: Any) -> Path:
    """A copy of configs/training.yaml with its own data, model name and parameter overrides."""
    config = shipped_config()
    config["model"]["name"] = model_name
    config["parameters"]["dataset"]["path"] = str(dataset_path)
    config["parameters"].update(parameters)
    path = folder / f"{model_name}-{len(list(folder.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_cli(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` as a user types it, from `cwd` (where reports/ is written)."""
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy() if env is None else env,
    )


def model_config(folder: Path, model_name: str) -> Path:
    """configs/training.yaml for another model name: what every command reads the model from."""
    config = shipped_config()
    config["model"]["name"] = model_name
    path = folder / f"config-{model_name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def bentoml(*args: str, cwd: Path, home: Path) -> str:
    """`python -m bentoml ARGS` against the store in `home`; its output, or the test fails."""
    result = subprocess.run(
        [sys.executable, "-m", "bentoml", *args],
        cwd=cwd,
        env={**os.environ, "BENTOML_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
