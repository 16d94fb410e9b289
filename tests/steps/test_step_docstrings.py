"""Every step says what it takes and gives: the docstring is what a reader of a step sees first."""

from __future__ import annotations

import importlib
import inspect

import pytest
from zenml.steps import BaseStep

from tests.helpers import REPO

STEP_MODULES = sorted(f"steps.{path.stem}" for path in (REPO / "steps").glob("[!_]*.py"))


def steps_in(module_name: str) -> list[BaseStep]:
    module = importlib.import_module(module_name)
    return [value for value in vars(module).values() if isinstance(value, BaseStep)]


def test_the_training_and_batch_steps_are_found():
    names = {step.name for module in STEP_MODULES for step in steps_in(module)}
    assert {"load_data", "validate_data", "evaluate_model", "promote_model", "predict"} <= names


@pytest.mark.parametrize("module_name", STEP_MODULES)
def test_every_step_says_what_it_takes_and_gives(module_name: str):
    for step in steps_in(module_name):
        doc = inspect.getdoc(step.entrypoint) or ""
        assert "Takes:" in doc and "Gives:" in doc, f"{module_name}.{step.name}: {doc!r}"
