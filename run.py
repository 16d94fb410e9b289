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
os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")

PROJECT = Path(__file__).resolve().parent
DEFAULT_CONFIG = PROJECT / "configs" / "training.yaml"
BATCH_CONFIG = PROJECT / "configs" / "batch_inference.yaml"
REPORTS = Path("reports")


@click.group(invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default="configs/training.yaml",
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


def quiet_data_errors() -> None:
    """Bad data is the user's to fix: show our message, not ZenML's traceback of it."""
    from steps.validation import HideDataErrorTraceback

    logging.getLogger("zenml.orchestrators.local.local_orchestrator").addFilter(
        HideDataErrorTraceback()
    )


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
    from steps.validation import DataValidationError

    quiet_data_errors()
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


@cli.command()
@click.argument("values", nargs=-1, type=float)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV file with the feature columns: runs the batch inference pipeline.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the batch predictions go [default: INPUT's name + .predictions.csv].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=BATCH_CONFIG,
    show_default="configs/batch_inference.yaml",
    help="ZenML run config of the batch inference pipeline (and the model's name).",
)
def predict(
    values: tuple[float, ...], input_path: Path | None, output: Path | None, config_path: Path
) -> None:
    """Predict with the production model: one row from VALUES, or a CSV file with --input.

    \b
    python run.py predict 5.1 3.5 1.4 0.2
    python run.py predict --input new.csv --output new.predictions.csv
    """
    if bool(values) == bool(input_path):
        raise click.UsageError("give either the feature VALUES of one row, or --input FILE.csv")
    import yaml

    model_name = yaml.safe_load(config_path.read_text())["model"]["name"]
    if values:
        predict_one(values, model_name)
    else:
        output = output or input_path.with_name(f"{input_path.stem}.predictions.csv")
        predict_file(input_path, output, config_path, model_name)


def predict_one(values: tuple[float, ...], model_name: str) -> None:
    """Straight from the BentoML export: no ZenML start-up on this interactive path."""
    from pydantic import ValidationError

    from service.contract import (
        as_records,
        check_feature_order,
        probabilities,
        record_model,
        records_matrix,
    )
    from service.model_store import NoServingModel, latest_export

    try:
        export = latest_export(model_name)
    except NoServingModel as error:
        click.secho(str(error), fg="red", err=True)
        sys.exit(1)
    features = export.metadata["features"]
    names = [feature["name"] for feature in features]
    if len(values) != len(names):
        raise click.UsageError(
            f"expected {len(names)} values ({' '.join(names)}), got {len(values)}"
        )
    try:
        record = record_model(features)(**dict(zip(names, values, strict=True)))
    except ValidationError as error:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
        raise click.UsageError(problems) from None
    classifier = export.load()
    check_feature_order(classifier, names)
    probs = probabilities(classifier, records_matrix([record], names))
    prediction = as_records(probs, export.metadata["classes"])[0]
    label = prediction["label"]
    version = export.labels.get("zenml_model_version", "?")
    click.echo(
        f"{label} (probability {prediction['probabilities'][label]:.2f})"
        f" - {model_name} version {version}"
    )


def predict_file(input_path: Path, output: Path, config_path: Path, model_name: str) -> None:
    from pipelines.batch_inference import batch_inference_pipeline
    from pipelines.run_report import collect_batch_summary, format_batch_summary
    from steps.promotion import production_version
    from steps.validation import DataValidationError

    if production_version(model_name) is None:
        click.secho(
            f"No production version of '{model_name}' in the ZenML store: nothing was promoted "
            "yet. Train and promote one with `make run` (or `python run.py`) first.",
            fg="red",
            err=True,
        )
        sys.exit(1)
    quiet_data_errors()
    configured = batch_inference_pipeline.with_options(config_path=str(config_path))
    try:
        run = configured(input_path=str(input_path))
    except DataValidationError as error:
        click.secho(f"\nPrediction stopped: {error}", fg="red", err=True)
        sys.exit(1)
    summary = collect_batch_summary(run)
    output.parent.mkdir(parents=True, exist_ok=True)
    summary["predictions"].to_csv(output, index=False)
    click.echo("\n" + format_batch_summary(summary, output))


from service.cli import deploy_command, image_command  # noqa: E402  (light: no ZenML import)
from stack.cli import models_command, stack_command  # noqa: E402

cli.add_command(stack_command)
cli.add_command(models_command)
cli.add_command(image_command)
cli.add_command(deploy_command)


if __name__ == "__main__":
    cli()
