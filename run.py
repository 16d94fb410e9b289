"""The project's command line. Thin on purpose: it parses options and calls pipelines."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

# Quiet, private defaults; a user's own environment still wins.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_ENABLE_RICH_TRACEBACK", "false")
os.environ.setdefault("AUTO_OPEN_DASHBOARD", "false")

DEFAULT_CONFIG = Path("configs/training.yaml")
REPORTS = Path("reports")


@click.group(invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="ZenML run config of the training pipeline.",
)
@click.option("--no-cache", is_flag=True, help="Run every step again (a cold run).")
@click.pass_context
def cli(context: click.Context, config_path: Path, no_cache: bool) -> None:
    """Train, evaluate and (maybe) promote the classifier.

    With no command, runs the training pipeline on the active ZenML stack and prints a
    summary; the metrics and confusion matrix are also written to reports/.
    """
    if context.invoked_subcommand is None:
        train(config_path, no_cache)


def train(config_path: Path, no_cache: bool) -> None:
    from steps.config_models import ConfigError, check_training_config

    try:
        check_training_config(config_path)
    except ConfigError as error:
        click.secho(f"Training not started: {error}", fg="red", err=True)
        sys.exit(2)

    from stack.s3 import S3Unavailable, check_active_artifact_store

    try:
        check_active_artifact_store()
    except S3Unavailable as error:
        click.secho(f"Training not started: {error}", fg="red", err=True)
        click.echo("Nothing was run; the production model was not changed.", err=True)
        sys.exit(1)

    from pipelines.run_report import collect_summary, format_summary, write_reports
    from pipelines.training import training_pipeline
    from steps.validation import DataValidationError, HideDataErrorTraceback

    logging.getLogger("zenml.orchestrators.local.local_orchestrator").addFilter(
        HideDataErrorTraceback()
    )
    options = {"config_path": str(config_path)}
    if no_cache:
        options["enable_cache"] = False
    configured = training_pipeline.with_options(**options)
    try:
        run = configured()
    except DataValidationError as error:
        click.secho(f"\nTraining stopped: {error}", fg="red", err=True)
        click.echo("The production model was not changed.", err=True)
        sys.exit(1)
    summary = collect_summary(run, configured.configuration.model.name)
    write_reports(summary, REPORTS)
    click.echo("\n" + format_summary(summary))


from stack.cli import models_command, stack_command  # noqa: E402  (light: no ZenML import)

cli.add_command(stack_command)
cli.add_command(models_command)

if __name__ == "__main__":
    cli()
