"""`new-project`: the renaming rules on sample strings, and a generated project that runs.

Inputs are built from stack.new_project's own constants, so a generated project (whose copy
of the module names its own names) passes these tests too.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stack.new_project import (
    DATASET_WORD,
    EXAMPLE_DATA,
    EXAMPLE_FILES,
    EXAMPLE_NAMES,
    EXAMPLE_SECTIONS,
    TEMPLATE,
    leftovers,
    make_names,
    new_project_command,
    section_lines,
    substitution,
    tracked_files,
)
from tests.helpers import REPO
from tests.stack.conftest import isolated_env

NEW = make_names("acme-churn", "churn_model", "acme-data-lake")
WORD = DATASET_WORD


def test_names_derived_from_the_project():
    names = make_names("Churn-MLOps")
    assert (names.project, names.model, names.bucket, names.env_prefix) == (
        "churn-mlops",
        "churn_classifier",
        "churn-mlops",
        "CHURN_",
    )
    assert make_names(TEMPLATE.project).project == TEMPLATE.project


@pytest.mark.parametrize("bad", [{"project": "9lives"}, {"model": "a model!"}, {"bucket": "B"}])
def test_bad_names_are_refused(bad):
    from stack.new_project import NewProjectError

    with pytest.raises(NewProjectError):
        make_names(**({"project": "acme-churn"} | bad))


def test_rules_rename_every_spelling_and_keep_the_example_data_names():
    rename = substitution(NEW)
    snake, upper = TEMPLATE.model, TEMPLATE.model.upper()
    cases = {
        f"name: {snake}": "name: churn_model",
        f"{snake}_service:latest": "churn_model_service:latest",
        f"build/kubernetes/{snake.replace('_', '-')}.yaml": "build/kubernetes/churn-model.yaml",
        f"{upper} and {''.join(w.capitalize() for w in snake.split('_'))}": (
            "CHURN_MODEL and ChurnModel"
        ),
        f'name = "{TEMPLATE.project}"': 'name = "acme-churn"',
        f"label=ai.{TEMPLATE.project}.data-md5": "label=ai.acme-churn.data-md5",
        f"localhost/{TEMPLATE.project}-steps": "localhost/acme-churn-steps",
        f"$${TEMPLATE.env_prefix}S3_BUCKET": "$$ACME_CHURN_S3_BUCKET",
        f"  bucket: {TEMPLATE.bucket}   # {TEMPLATE.env_prefix}S3_BUCKET": (
            "  bucket: acme-data-lake   # ACME_CHURN_S3_BUCKET"
        ),
        f"url = s3://{TEMPLATE.bucket}/dvc": "url = s3://acme-data-lake/dvc",
        # generic: identifiers tied to the example data
        f"def {WORD}_csv(served_{WORD}):": "def example_csv(served_example):",
        f"class {WORD.capitalize()}(BaseModel):": "class Example(BaseModel):",
        f"AKIA{WORD.upper()}TESTKEY12345": "AKIAEXAMPLETESTKEY12345",
        # the example data's names stay
        f"dvc add {EXAMPLE_DATA}": f"dvc add {EXAMPLE_DATA}",
        f"from data.make_{WORD} import write_{WORD}": f"from data.make_{WORD} import write_{WORD}",
        f"write_{WORD}_like(load_{WORD}())": f"write_example_like(load_{WORD}())",
        # prose about the example data names it as such
        f"ships. {WORD.capitalize()} is the example": (
            f"ships. The {WORD.capitalize()} data is the example"
        ),
    }
    for old, new in cases.items():
        assert rename(old) == new, old


def test_a_names_own_output_is_not_renamed_again():
    """One pass: a new name that contains an old one is left alone."""
    names = make_names(f"{WORD}-detector", f"{WORD}_finder", f"{WORD}-bucket")
    rename = substitution(names)
    assert rename(f"model {TEMPLATE.model}") == f"model {WORD}_finder"


def test_the_dataset_section_is_found_by_indentation():
    text = (
        "model:\n  name: x\nparameters:\n  seed: 1\n  dataset:\n    path: a\n\n    k: 2\n  cv: 5\n"
    )
    kept = section_lines(text, ("parameters", "dataset"))
    assert [text.splitlines()[n] for n in kept] == ["  dataset:", "    path: a", "", "    k: 2"]


def git_out(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def grep_leftovers(project: Path) -> list[str]:
    """`git grep -i` for the example data's word, minus what the example data may hold."""
    found = subprocess.run(
        ["git", "grep", "-n", "-I", "-i", WORD], cwd=project, capture_output=True, text=True
    ).stdout.splitlines()
    found += [f"{name}:0:(file name)" for name in tracked_files(project) if WORD in name.lower()]
    sections = {
        path: section_lines((project / path).read_text(), keys)
        for path, keys in EXAMPLE_SECTIONS.items()
    }
    left = []
    for hit in found:
        path, number, text = hit.split(":", 2)
        if path in EXAMPLE_FILES or int(number) - 1 in sections.get(path, ()):
            continue
        if number == "0":
            text = path
        if re.search(WORD, EXAMPLE_NAMES.sub("", text), re.IGNORECASE):
            left.append(hit)
    return left


@pytest.mark.slow
def test_a_new_project_runs_and_tests_clean_under_its_own_names(tmp_path: Path, report):
    dest = tmp_path / "acme"
    started = time.monotonic()
    result = CliRunner().invoke(
        new_project_command,
        [str(dest)],
        input="acme-churn\nchurn_model\nacme-data-lake\n",
        catch_exceptions=False,
    )
    generated = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Model name [acme_churn_classifier]" in result.output  # derived default offered
    assert git_out("status", "--porcelain", cwd=dest) == ""
    assert len(git_out("log", "--oneline", cwd=dest).splitlines()) == 1
    assert set(tracked_files(dest)) >= set(EXAMPLE_FILES)

    # Nothing of this project's names outside the example data (file names included).
    assert grep_leftovers(dest) == []
    assert leftovers(dest) == []
    # DVC storage of its own.
    config = (dest / ".dvc" / "config").read_text()
    assert "/tmp/acme-churn-dvcstore" in config and "s3://acme-data-lake/dvc" in config
    assert TEMPLATE.bucket not in config or TEMPLATE.bucket == NEW.bucket

    # As a user would: its own venv (make install), then make run and make test-fast, with
    # private ZenML/BentoML state and an empty DVC remote of the test's own.
    (dest / ".dvc" / "config.local").write_text(
        f"['remote \"local\"']\n    url = {tmp_path / 'dvc-remote'}\n"
    )
    env = isolated_env(tmp_path / "state")
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if not part.startswith(str(REPO))
    )
    env.pop("PYTHONPATH", None)
    times = {"generate": generated}
    outputs = {}
    for target in ("install", "run", "test-fast"):
        started = time.monotonic()
        done = subprocess.run(
            ["make", target], cwd=dest, env=env, capture_output=True, text=True, timeout=900
        )
        times[target] = time.monotonic() - started
        outputs[target] = done.stdout + done.stderr
        assert done.returncode == 0, f"make {target}:\n{outputs[target][-4000:]}"
    assert (dest / ".venv" / "bin" / "python").is_file()
    assert not (dest / ".venv").is_symlink()
    assert "wrote the Iris data" in outputs["run"] or "dvc pull" in outputs["run"].lower()
    assert "BentoML model churn_model:" in outputs["run"]
    assert "PROMOTED" in outputs["run"]
    assert re.search(r"\d+ passed", outputs["test-fast"])
    report(
        "new project: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in times.items())
    )
