"""Switching to a stack whose step containers cannot read production says so first."""

from __future__ import annotations

import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from stack.switch import production_out_of_reach

pytestmark = pytest.mark.slow


def test_containers_cannot_read_a_production_kept_in_the_local_store(served_model):
    number = Client().get_model_version(served_model, ModelStages.PRODUCTION).number
    for name in ("docker", "kubernetes"):
        reason = production_out_of_reach(name, served_model)
        assert reason is not None, name
        assert reason.startswith(f"Production ({served_model} version {number}) is in the local")
        assert f"which the {name} stack's step containers cannot read" in reason
        assert "`python run.py promote N`" in reason
    # Steps that run in this process read the client's disk; a model with no production
    # has nothing to compare.
    assert production_out_of_reach("s3", served_model) is None
    assert production_out_of_reach("local", served_model) is None
    assert production_out_of_reach("docker", "no_such_model") is None
