"""Shared fixtures. Tests run against throw-away ZenML, BentoML and DVC state, never the user's.

The isolation is set here, at import, before anything imports ZenML, so the test process
and the `run.py` subprocesses it starts share one temporary store. Tests that need their
own model lineage give the model a name of their own in a temporary config.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pipelines.zenml_startup import QUIET_DEFAULTS
from tests.helpers import REPO, run_cli, training_config
from tests.tabular_data import churn_config, write_churn

_STATE = Path(tempfile.mkdtemp(prefix="iris-mlops-tests-"))
os.environ.update(
    {
        "ZENML_CONFIG_PATH": str(_STATE / "zenml"),
        **QUIET_DEFAULTS,
        "DVC_NO_ANALYTICS": "1",
        "DVC_GLOBAL_CONFIG_DIR": str(_STATE / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(_STATE / "dvc-system"),
        "DVC_SITE_CACHE_DIR": str(_STATE / "dvc-site-cache"),
        "BENTOML_HOME": str(_STATE / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
)
os.environ.pop("ZENML_REPOSITORY_PATH", None)
os.environ.pop("ZENML_STORE_URL", None)
os.environ.pop("ZENML_LOCAL_STORES_PATH", None)  # would put every test's SQLite store in one place


@pytest.fixture(scope="session", autouse=True)
def zenml_source_root() -> None:
    """The project root as ZenML's source root, as `python run.py` (run.py's folder) and the
    notebook have it. ZenML otherwise takes the main module's folder, and a pytest-xdist
    worker's main module has no file: in-process pipeline runs would fail to start."""
    from zenml.utils import source_utils

    source_utils.set_custom_source_root(str(REPO))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_STATE, ignore_errors=True)


@pytest.fixture
def report(request: pytest.FixtureRequest):
    """Figures a test reports to the run's summary (image sizes, say), pass or fail. They
    travel on the test's report, so pytest-xdist's workers hand them to the main process."""
    return lambda line: request.node.user_properties.append(("reported", line))


LONGEST = ("test_docker_stack_run.py", "test_s3_faults.py")  # minutes each (--durations)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow tests first, in their order: with pytest-xdist (`make test` runs two
    workers, a file each) the longest files start at once instead of ending the run alone."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.path.name not in LONGEST, item.path not in slow_modules))


REPORTED: list[str] = []  # in the process that prints the summary


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        REPORTED.extend(value for key, value in report.user_properties if key == "reported")


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if REPORTED:
        terminalreporter.section("reported figures")
        for line in REPORTED:
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def iris_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped Iris CSV, written by the same code as DVC's `raw` stage."""
    from data.make_iris import write_iris

    path = tmp_path_factory.mktemp("data") / "iris.csv"
    write_iris(path)
    return path


SERVED_MODEL = "served_iris"


@pytest.fixture(scope="session")
def served_model(iris_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Train and promote `served_iris`, which exports it to the (test) BentoML store."""
    folder = tmp_path_factory.mktemp("served")
    return train_and_promote(training_config(folder, iris_csv, SERVED_MODEL), SERVED_MODEL)


def train_and_promote(config: Path, model_name: str) -> str:
    result = run_cli("--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PROMOTED" in result.stdout
    return model_name


SERVED_CHURN = "served_churn"


@pytest.fixture(scope="session")
def churn_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated churn table: ID column, two categorical columns, missing numbers and a
    label of about 85/15 (tests/tabular_data.py)."""
    return write_churn(tmp_path_factory.mktemp("churn") / "churn.csv")


@pytest.fixture(scope="session")
def served_churn(churn_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Train and promote `served_churn` on the churn table, exported to the test store."""
    folder = tmp_path_factory.mktemp("served-churn")
    return train_and_promote(churn_config(folder, churn_csv, SERVED_CHURN), SERVED_CHURN)
