"""The GitHub Actions workflow for the template's users (.github/workflows/ci.yml).

GitHub's runners are out of reach here, so the workflow is checked as a user would read it:
valid against GitHub's workflow schema (offline), run on every Python pyproject.toml allows,
running the README's quick-start commands, with the system tools .ci/run installs here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from tests.helpers import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against its bundled copy of GitHub's schema; any download would fail."""
    unreachable = "http://127.0.0.1:9"  # the discard port: nothing listens
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HTTP_PROXY": unreachable, "HTTPS_PROXY": unreachable},
    )


def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def job_on(event: str) -> dict[str, Any]:
    """The one job that runs on `event` (its `if:` names it)."""
    jobs = [job for job in workflow()["jobs"].values() if event in job.get("if", "")]
    assert len(jobs) == 1, f"expected one job for {event}, found {len(jobs)}"
    return jobs[0]


def commands_of(job: dict[str, Any]) -> list[str]:
    """Each shell line the job runs, continuation lines joined."""
    scripts = [step["run"].replace("\\\n", " ") for step in job["steps"] if "run" in step]
    return [" ".join(line.split()) for script in scripts for line in script.splitlines()]


def runs_command_line(line: str, command: str) -> bool:
    """The line is the command, alone or as the tail of a wrapper (sudo, env)."""
    return f" {line}".endswith(f" {command}")


def runs_command(job: dict[str, Any], command: str) -> bool:
    return any(runs_command_line(line, command) for line in commands_of(job))


def quick_start_commands() -> list[str]:
    """The commands in the README's "Quick start" code block, without their comments."""
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^#+ Quick start\n(.*?)(?=^#{1,2} |\Z)", readme, re.M | re.S | re.I)
    assert section, "no Quick start section in README.md"
    block = re.search(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert block, "no code block in the README's Quick start"
    lines = (line.split("#")[0].strip().removeprefix("$ ") for line in block.group(1).splitlines())
    return [" ".join(line.split()) for line in lines if line]


def readme_test_command() -> str:
    tests = [command for command in quick_start_commands() if re.search(r"\btest$", command)]
    assert len(tests) == 1, quick_start_commands()
    return tests[0]


def supported_pythons() -> list[str]:
    """Every 3.x that pyproject.toml's requires-python allows."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    allowed = SpecifierSet(project["requires-python"])
    return [f"3.{minor}" for minor in range(0, 40) if allowed.contains(f"3.{minor}")]


def ci_run_exports() -> dict[str, str]:
    return dict(re.findall(r"^export (IRIS_\w+)=(\S+)$", (REPO / ".ci" / "run").read_text(), re.M))


def test_the_workflow_is_valid_against_githubs_schema():
    result = check_workflow(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation done" in result.stdout


def test_a_misspelt_key_fails_the_schema_check(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs-onn:", 1))
    result = check_workflow(broken)
    assert result.returncode == 1
    assert "'runs-on' is a required property" in result.stdout


def test_pull_requests_run_the_readmes_test_command_on_every_supported_python():
    promised = re.search(
        r"Python (3\.\d+) ?(?:\N{EN DASH}|-|to) ?(3\.\d+)", (REPO / "README.md").read_text()
    )
    assert promised, "the README does not say which Pythons it supports"
    assert [supported_pythons()[0], supported_pythons()[-1]] == list(promised.groups())
    assert "pull_request" in workflow()["on"]
    job = job_on("pull_request")
    assert job["strategy"]["matrix"]["python-version"] == supported_pythons()
    setup = [
        step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert setup[0]["with"]["python-version"] == "${{ matrix.python-version }}"
    assert runs_command(job, readme_test_command()), commands_of(job)


def test_pull_requests_install_what_ci_installs_here_and_require_the_same():
    job = job_on("pull_request")
    lines = commands_of(job)
    install = lines.index("bash .ci/install")
    tests = next(
        i for i, line in enumerate(lines) if runs_command_line(line, readme_test_command())
    )
    assert install < tests
    # .ci/run installs through the same script only, then runs the same command.
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "bash .ci/install" in ci_run and "apt-get" not in ci_run
    assert ci_run.rstrip().splitlines()[-1] == readme_test_command()
    assert "apt-get install" in (REPO / ".ci" / "install").read_text()
    # ... and the switches that turn a missing tool into a failure rather than a skip.
    assert "IRIS_REQUIRE_CONTAINERS" in ci_run_exports()
    assert {name: job["env"].get(name) for name in ci_run_exports()} == ci_run_exports()


def test_pushes_to_main_run_the_readmes_training_command():
    assert workflow()["on"]["push"]["branches"] == ["main"]
    training = quick_start_commands()[0]  # the README's first command
    assert training != readme_test_command()
    job = job_on("push")
    assert runs_command(job, training), commands_of(job)
    setup = [
        step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert setup[0]["with"]["python-version"] in supported_pythons()


@pytest.mark.parametrize("name", ["test", "train"])
def test_every_job_is_bounded_in_time_and_uses_pinned_actions(name):
    job = workflow()["jobs"][name]
    assert 0 < job["timeout-minutes"] <= 360  # GitHub's own limit is 6 hours
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"])
    assert workflow()["concurrency"]["cancel-in-progress"] is True
