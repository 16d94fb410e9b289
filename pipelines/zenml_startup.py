"""ZenML's quiet defaults for this project's commands, and two start-up costs of ZenML 0.98
that this project's client process does not pay.

The two savings are workarounds of ZenML internals, applied only in this process (run.py's
training and batch inference), before a pipeline compiles; steps that run elsewhere
(containers, pods) start through ZenML's own entrypoints, untouched.
tests/pipelines/test_zenml_startup.py fails if upstream changes the behaviour they work
around, so they can be dropped then.
"""

from __future__ import annotations

import functools
import logging
import os

logger = logging.getLogger(__name__)

# Quiet, private defaults for this project's commands; a user's own environment still wins.
QUIET_DEFAULTS = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_ENABLE_RICH_TRACEBACK": "false",
    "ZENML_AUTO_OPEN_DASHBOARD": "false",
}


def set_quiet_defaults() -> None:
    """Set before ZenML is imported (run.py, stack/dashboard.py): it reads them then."""
    for name, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(name, value)


# ZenML integrations installed in this environment whose activation the project never uses.
# `bentoml`: BentoML is installed for serving, so ZenML activates its BentoML integration,
# which imports BentoML, its model deployer and its local deployment service (about 2 s);
# the project saves and serves models with BentoML's own API (ZenML's deployer fails on
# BentoML 1.4 services) and no step returns a Bento. The stacks' own
# integrations (s3, kubernetes) and the materializers the steps use (sklearn, pandas,
# numpy, ...) are activated as before.
UNUSED_INTEGRATIONS = ("bentoml",)


def skip_unused_integrations(names: tuple[str, ...] = UNUSED_INTEGRATIONS) -> None:
    """Make the activation of the named integrations a no-op in this process.

    Upstream: `Pipeline._compile` (zenml/pipelines/pipeline_definition.py) calls
    `integration_registry.activate_integrations()` (zenml/integrations/registry.py), which
    calls `activate()` on every integration whose requirements are installed, used or not.
    There is no setting to leave one out. Its flavors stay registered (`flavors()` is
    separate), so `zenml integration list` and stack registration see no difference.
    """
    from zenml.integrations.registry import integration_registry

    for name in names:
        integration = integration_registry.integrations.get(name)
        if integration is None or getattr(integration, "_iris_skipped", False):
            continue
        integration.activate = classmethod(_not_activated)  # type: ignore[method-assign]
        integration._iris_skipped = True  # type: ignore[attr-defined]


def _not_activated(cls) -> None:
    logger.debug("ZenML integration %s not activated: this project does not use it", cls.NAME)


def cache_package_lookup() -> None:
    """Scan the installed distributions once per process, not once per stored artifact.

    Upstream: `source_utils._get_package_for_module` (zenml/utils/source_utils.py) calls
    `importlib.metadata.packages_distributions()` each time it resolves the source of a
    class from an installed package (each artifact's data type and materializer), which
    reads the metadata of every installed distribution (~235 here, about 0.25 s a call).
    The answer depends only on the module name and on what is installed, which does not
    change while a command runs, and upstream uses only the top-level module's name: the
    result is cached per top-level module (pandas, sklearn, ...).
    """
    from zenml.utils import source_utils

    lookup = source_utils._get_package_for_module
    if getattr(lookup, "_iris_cached", False):
        return

    @functools.cache
    def by_top_level(top_level_module: str):
        return lookup(top_level_module)

    def cached_lookup(module_name: str):
        return by_top_level(module_name.split(".", maxsplit=1)[0])

    cached_lookup._iris_cached = True  # type: ignore[attr-defined]
    cached_lookup.__wrapped_upstream__ = lookup  # type: ignore[attr-defined]
    source_utils._get_package_for_module = cached_lookup


def trim_startup() -> None:
    """Both of the above: called by pipelines/runner.py before a pipeline runs."""
    skip_unused_integrations()
    cache_package_lookup()
