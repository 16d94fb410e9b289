"""pipelines/zenml_startup.py: what it leaves out, what it keeps, and the upstream behaviour
each workaround depends on (if one of those tests fails, ZenML changed: drop the workaround)."""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

# In a fresh interpreter: BentoML must not be imported before compilation would activate.
ACTIVATE = """
import json, sys
{setup}
from zenml.integrations.registry import integration_registry
from zenml.materializers.materializer_registry import materializer_registry
integration_registry.activate_integrations()
import sklearn.pipeline
print(json.dumps({{
    "bentoml_imported": "bentoml" in sys.modules,
    "sklearn_materializer": materializer_registry[sklearn.pipeline.Pipeline].__name__,
    "bentoml_flavors": [f.__name__ for f in integration_registry.integrations["bentoml"].flavors()],
    "s3_installed": integration_registry.integrations["s3"].check_installation(),
}}))
"""


def activate(setup: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", ACTIVATE.format(setup=setup)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh interpreter that imports ZenML twice
def test_upstream_activation_imports_bentoml_and_the_skip_does_not():
    upstream = activate("")
    # The reason for skip_unused_integrations: ZenML activates its BentoML integration
    # because bentoml is installed, and that imports BentoML.
    assert upstream["bentoml_imported"], "ZenML no longer imports BentoML: drop the skip"
    trimmed = activate("from pipelines.zenml_startup import trim_startup; trim_startup()")
    assert not trimmed["bentoml_imported"]
    # What the project uses is still there: the sklearn materializer, the s3 integration,
    # and the BentoML flavors (registration is separate from activation).
    assert trimmed["sklearn_materializer"] == upstream["sklearn_materializer"]
    assert trimmed["sklearn_materializer"] == "SklearnMaterializer"
    assert trimmed["s3_installed"]
    assert trimmed["bentoml_flavors"] == upstream["bentoml_flavors"]


def count_distribution_scans(monkeypatch) -> list:
    """A list that grows by one each time `packages_distributions()` is called."""
    import importlib.metadata

    calls = []
    real = importlib.metadata.packages_distributions

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(importlib.metadata, "packages_distributions", counting)
    return calls


def test_upstream_scans_the_installed_distributions_on_every_lookup(monkeypatch):
    """The reason for cache_package_lookup: if ZenML caches the scan itself, drop ours."""
    from zenml.utils import source_utils

    lookup = source_utils._get_package_for_module
    if getattr(lookup, "_iris_cached", False):  # patched earlier in this test process
        lookup = lookup.__wrapped_upstream__
    calls = count_distribution_scans(monkeypatch)
    assert lookup("sklearn.pipeline") == "scikit-learn"
    assert lookup("sklearn.base") == "scikit-learn"
    assert len(calls) == 2
    # Upstream uses only the top-level module's name: what the cache is keyed on.
    assert lookup("pandas.core.frame") == lookup("pandas") == "pandas"


def test_the_cached_lookup_scans_once_and_answers_as_upstream(monkeypatch):
    from zenml.utils import source_utils

    from pipelines.zenml_startup import cache_package_lookup

    monkeypatch.setattr(
        source_utils, "_get_package_for_module", source_utils._get_package_for_module
    )
    upstream = source_utils._get_package_for_module
    modules = ["sklearn.pipeline", "sklearn.base", "pandas.core.frame", "numpy", "no_such_module"]
    expected = {module: upstream(module) for module in modules}
    cache_package_lookup()
    cache_package_lookup()  # twice is once
    calls = count_distribution_scans(monkeypatch)
    assert {module: source_utils._get_package_for_module(module) for module in modules} == expected
    assert {module: source_utils._get_package_for_module(module) for module in modules} == expected
    assert len(calls) == 4  # one per top-level module: sklearn, pandas, numpy, no_such_module
