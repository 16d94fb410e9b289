"""Where the project's folders are: one place computes the repository root.

No import beyond the standard library: steps, the command line, the stack and deploy tools
and the benchmarks all read it. The service inside a bento cannot (it packs service/ only).
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the folder holding run.py
CONFIGS = PROJECT_ROOT / "configs"
DEFAULT_CONFIG = CONFIGS / "training.yaml"  # run.py's --config
MONITORING_CONFIG = CONFIGS / "monitoring.yaml"  # `run.py monitor --config`
SERVICE_DIR = PROJECT_ROOT / "service"  # what the bento packs (service/bentofile.yaml)
STEPS_DIR = PROJECT_ROOT / "steps"


def resolve_project_path(path: str | Path) -> Path:
    """A path from a config: relative ones are read from the project root, as dvc.yaml does.

    So `cd /tmp && python /path/to/run.py` reads the same data/raw/iris.csv as `make run`.
    Absolute paths (and `~/...`, expanded) are kept as they are.
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
