"""What every command does at its edge: one way to fail, and a terminal without tracebacks
for failures whose message says it all.

run.py, deploy/cli.py, stack/cli.py and stack/new_project.py parse options and call
plain functions; when one of those cannot go on, the command ends here: its message in red
on stderr, "The production model was not changed." where a run could have changed it, and
its exit status (1, or 2 for a usage or config error). The shared `--model` option is here
too, with `model_from`, which falls back on the model the training --config names.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from pipelines.runner import is_expected

PRODUCTION_UNCHANGED = "The production model was not changed."


# The --model of every command that acts on one model; model_from reads it.
model_option = click.option(
    "--model", "model_name", help="Model name [default: model.name in the training --config]."
)


def model_from(context: click.Context, model_name: str | None) -> str:
    """`--model`, else the model the root --config trains: every command follows one config.

    A config without `model: name:` ends the command with its message and exit status 2.
    """
    from steps.config_models import ConfigError, configured_model_name

    try:
        return model_name or configured_model_name(context.find_root().params["config_path"])
    except ConfigError as error:
        fail(f"\n{error}", status=2)


def fail(message: str, status: int = 1, production_unchanged: bool = False) -> NoReturn:
    """End the command: the message, the production line where it applies, the status."""
    click.secho(message, fg="red", err=True)
    if production_unchanged:
        click.echo(PRODUCTION_UNCHANGED, err=True)
    sys.exit(status)


def nothing_run(production_unchanged: bool) -> str:
    """The last line of a run stopped before it started: the production line joined on
    where the run could have changed it ("Nothing was run; the production model was...")."""
    if not production_unchanged:
        return "Nothing was run."
    return f"Nothing was run; {PRODUCTION_UNCHANGED[0].lower()}{PRODUCTION_UNCHANGED[1:]}"


def warn(message: str) -> None:
    """Something the user should know while the command goes on (in yellow, on stderr)."""
    click.secho(message, fg="yellow", err=True)


def stop(error: Exception) -> NoReturn:
    """End the command on a RunStopped (pipelines/runner.py): its status and production line."""
    fail(
        f"\n{error}",
        getattr(error, "status", 1),
        getattr(error, "production_unchanged", False),
    )


class QuietExpectedFailures(logging.Filter):
    """On the terminal, bad data and outages are one line each; step logs keep tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_expected(record.exc_info[1]):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_failures() -> None:
    """Put the filter on ZenML's console handler (on the root logger; ZenML adds it).

    Also flushes ZenML's log export before exit (Python 3.12), and quiets the second
    report of an outage: an S3 file that could not be written
    (step logs) fails again in its `__del__` when garbage-collected, and Python prints
    that "Exception ignored in" traceback through `sys.unraisablehook`.
    """
    import zenml  # noqa: F401  (its import sets up the handlers)

    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "ZenMLConsoleHandler":
            handler.addFilter(QuietExpectedFailures())
    sys.unraisablehook = quiet_unraisable_outages(sys.unraisablehook)
    flush_log_export_before_exit()


def flush_log_export_before_exit() -> None:
    """Flush ZenML's OpenTelemetry log export at exit, before `logging.shutdown` does.

    `logging.shutdown` (an atexit callback) flushes every handler ever made, ZenML's
    `LoggingHandler` of its OTel log store among them; that flush
    (opentelemetry/instrumentation/logging/handler.py, `LoggingHandler.flush`) starts a
    thread, which Python 3.12 refuses at interpreter shutdown: "Exception ignored in atexit
    callback" and a traceback after every successful run. atexit runs callbacks last-in
    first-out, so this one runs before logging's: it flushes in this thread, then makes the
    handler's later flush a no-op. tests/pipelines/test_runner.py fails if upstream changes.
    """
    import atexit

    atexit.register(flush_otel_log_handlers)


def flush_otel_log_handlers() -> None:
    try:
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
    except ImportError:
        return
    for reference in list(logging._handlerList):  # every handler made, as logging.shutdown sees
        handler = reference()
        if isinstance(handler, LoggingHandler):
            provider = getattr(handler, "_logger_provider", None)
            if callable(getattr(provider, "force_flush", None)):
                provider.force_flush()
            handler.flush = lambda: None  # type: ignore[method-assign]


def quiet_unraisable_outages(default: Callable[[Any], None]) -> Callable[[Any], None]:
    """An unraisable outage error becomes one debug line; anything else goes to `default`."""

    def hook(unraisable: Any) -> None:
        if unraisable.exc_value is not None and is_expected(unraisable.exc_value):
            logging.getLogger(__name__).debug(
                "Ignored in %r: %s", unraisable.object, unraisable.exc_value
            )
            return
        default(unraisable)

    return hook
