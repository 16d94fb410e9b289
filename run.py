"""The project's command line. Thin on purpose: it parses options and calls functions;
a command that cannot go on ends through pipelines/command_line.py."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.command_line import (
    fail,
    model_from,
    model_option,
    quiet_expected_failures,
    stop,
    warn,
)
from pipelines.project_paths import DEFAULT_CONFIG, MONITORING_CONFIG
from pipelines.zenml_startup import set_quiet_defaults

set_quiet_defaults()  # before anything imports ZenML

REPORTS = Path("reports")  # relative on purpose: reports go where the command is run
RETRAINING_RECOMMENDED = 3  # the exit status of `monitor` that recommends retraining


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


def train(config_path: Path, no_cache: bool) -> dict:
    from deploy.export import export_after_training
    from pipelines.run_report import format_summary, serve_command_for, write_reports
    from pipelines.runner import RunStopped, run_training

    quiet_expected_failures()
    try:
        summary = run_training(config_path, no_cache, click.echo)
    except RunStopped as error:
        stop(error)
    write_reports(summary, REPORTS)
    summary["export"] = export_after_training(summary["model_name"], warn)
    summary["serve_command"] = serve_command_for(config_path)
    click.echo("\n" + format_summary(summary))
    return summary


@cli.command()
@click.argument("values", nargs=-1)
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
@click.pass_context
def predict(
    context: click.Context,
    values: tuple[str, ...],
    input_path: Path | None,
    output: Path | None,
) -> None:
    """Predict with the production model of the --config's model: one row from VALUES (in
    the model's feature order; NA for a missing value), or a CSV file with --input.

    \b
    python run.py predict 5.1 3.5 1.4 0.2
    python run.py --config mine.yaml predict --input new.csv --output new.predictions.csv
    """
    if bool(values) == bool(input_path):
        raise click.UsageError("give either the feature VALUES of one row, or --input FILE.csv")
    model_name = model_from(context, None)
    if values:
        predict_one(values, model_name)
    else:
        output = output or input_path.with_name(f"{input_path.stem}.predictions.csv")
        predict_file(input_path, output, model_name)


def predict_one(values: tuple[str, ...], model_name: str) -> None:
    """Straight from the BentoML export: no ZenML start-up on this interactive path."""
    from deploy.model_store import NoServingModel
    from deploy.predict_row import BadRow, predict_row

    try:
        prediction = predict_row(values, model_name)
    except NoServingModel as error:
        fail(str(error))
    except BadRow as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"{prediction.label} (probability {prediction.probability:.2f})"
        f" - {model_name} version {prediction.version}"
    )


def predict_file(input_path: Path, output: Path, model_name: str) -> None:
    from pipelines.run_report import format_batch_summary, write_predictions
    from pipelines.runner import RunStopped, run_batch_inference

    quiet_expected_failures()
    try:
        summary = run_batch_inference(input_path, model_name)
    except RunStopped as error:
        stop(error)
    write_predictions(summary, output)
    click.echo("\n" + format_batch_summary(summary, output))


@cli.command("export")
@click.option("--version", "number", type=click.IntRange(min=1), help="[default: production]")
@model_option
@click.pass_context
def export_command(context: click.Context, number: int | None, model_name: str | None) -> None:
    """Export production (or --version N) from the artifact store into BentoML's store.

    `serve`, `bento` and `make containerize` run this first; it writes nothing when the
    store's newest export already is that version.
    """
    name = model_from(context, model_name)
    export = export_or_stop(name, number)
    done = "Exported" if export.created else "Already exported"
    click.echo(f"{done}: {name} version {export.version} as BentoML model {export.tag}")


def export_or_stop(name: str, number: int | None = None):
    """The export `export`, `serve` and `bento` start from, or the reason there is none."""
    from deploy.export import ExportFailed, export_for_command

    try:
        return export_for_command(name, number)
    except ExportFailed as error:
        fail(f"\n{error}")


@cli.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="0.0.0.0 serves other machines too."
)
@model_option
@click.pass_context
def serve_command(context: click.Context, port: int, host: str, model_name: str | None) -> None:
    """Serve the --config's production model: its HTTP API and web page (`bentoml serve`).

    Exports it first; the service is told which model to load (`--arg model=NAME`).
    """
    from deploy.containers import exec_serve

    name = model_from(context, model_name)
    export = export_or_stop(name)
    click.echo(f"Serving {name} version {export.version} on http://{host}:{port}/ui (Ctrl+C stops)")
    exec_serve(name, host, port)


@cli.command("bento")
@model_option
@click.pass_context
def bento_command(context: click.Context, model_name: str | None) -> None:
    """Build a bento of the --config's production model (`bentoml build`), exported first.

    The bento is named after the model and records which model it serves, so
    `bentoml serve <bento>` starts with no setting after `bentoml import` elsewhere.
    """
    from deploy.containers import ImageError, build_bento

    name = model_from(context, model_name)
    export = export_or_stop(name)
    try:
        tag = build_bento(name)
    except ImageError as error:
        stop(error)
    click.echo(f"Built bento {tag} ({name} version {export.version}): bentoml serve {tag}")


@cli.command("promote")
@click.argument("number", type=click.IntRange(min=1), metavar="N")
@model_option
@click.pass_context
def promote_command(context: click.Context, number: int, model_name: str | None) -> None:
    """Make version N production by hand (a rollback, or a version the run did not promote).

    The version is exported for serving first: one whose model cannot be loaded is refused
    and production stays as it was.
    """
    from deploy.export import promote
    from pipelines.model_registry import ModelUnavailable, UnknownModel

    name = model_from(context, model_name)
    try:
        previous, export = promote(name, number)
    except (UnknownModel, ModelUnavailable) as error:
        fail(f"\nNot promoted: {error}.", production_unchanged=True)
    was = f"was version {previous}" if previous else "there was none"
    if previous == number:
        was = "it already was"
    click.echo(
        f"{name} version {number} is production ({was}); serving export {export.tag}.\n"
        "Serve it: make serve"
    )


@cli.command("init-data")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", help="The column to predict [default: the last column].")
@click.option(
    "--header/--no-header",
    default=None,
    help="Whether the first row names the columns [default: detected].",
)
@click.option(
    "--names",
    help="Comma-separated column names of a file without a header row "
    "[default: column_1..column_N].",
)
@click.option("--model-name", help="[default: the file's name, as a-z, 0-9 and _].")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the config goes [default: configs/<model name>.yaml].",
)
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
@click.pass_context
def init_data_command(
    context: click.Context,
    csv_path: Path,
    target: str | None,
    header: bool | None,
    names: str | None,
    model_name: str | None,
    output: Path | None,
    force: bool,
) -> None:
    """Write a training config for CSV_PATH: the dataset block inferred from the file, the
    rest copied from --config. Review it, then `python run.py --config` it.

    \b
    python run.py init-data data/raw/churn.csv --target churned
    """
    from data.init_data import InitDataError, format_summary, init_data

    try:
        written, inference = init_data(
            csv_path,
            target=target,
            header=header,
            names=[name.strip() for name in names.split(",")] if names else None,
            model_name=model_name,
            output=output,
            force=force,
            template_path=context.find_root().params["config_path"],
        )
    except InitDataError as error:
        fail(str(error), status=2)
    except RuntimeError as error:  # a config check_training_config refuses: a bug
        fail(str(error))
    for message in inference.warnings:
        warn(f"Warning: {message}")
    click.echo(format_summary(inference, written))


@cli.command("monitor")
@click.option(
    "--config",
    "monitoring_config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=MONITORING_CONFIG,
    show_default="configs/monitoring.yaml",
    help="The monitoring settings: log, window, test level, retraining thresholds.",
)
@click.option(
    "--log",
    "source",
    help="The inference log: a folder or s3://bucket/prefix [default: the config's `log`, "
    "else where the service writes it].",
)
@click.option("--since", help="Rows logged since: 90m, 24h, 7d or a date/time (UTC).")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N logged rows.")
@click.option(
    "--retrain",
    is_flag=True,
    help="When retraining is recommended, run the training pipeline (as `python run.py` "
    "does) on the current DVC data; the promotion gate still decides.",
)
@click.pass_context
def monitor_command(
    context: click.Context,
    monitoring_config: Path,
    source: str | None,
    since: str | None,
    last: int | None,
    retrain: bool,
) -> None:
    """Compare the service's logged traffic with the production version's training data:
    drift per feature, predicted-class shift, live accuracy where feedback came; then
    "retraining recommended because ..." or "no action".

    \b
    Exit status: 0 no action (or --retrain ran), 3 retraining recommended,
    4 nothing (or too little) logged in the window, 1 or 2 as other commands.
    \b
    python run.py monitor --since 24h
    python run.py monitor --log s3://bucket/inference-log --last 5000 --retrain
    """
    from datetime import datetime, timedelta, timezone

    from pipelines.runner import RunStopped, log_source, read_logged_rows, run_monitoring
    from service.inference_log import window_start
    from steps.config_models import ConfigError, check_monitoring_config

    try:
        settings = check_monitoring_config(monitoring_config)
    except ConfigError as error:
        fail(f"\n{error}", status=2)
    model_name = model_from(context, None)
    if since is not None or last is not None:
        try:
            start = window_start(since) if since is not None else None
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--since") from None
    else:
        hours = settings.window.since_hours
        start = datetime.now(timezone.utc) - timedelta(hours=hours) if hours else None
        last = settings.window.last_rows
    try:
        logged = read_logged_rows(
            model_name, log_source(source or settings.log), start, last, settings.min_rows
        )
        quiet_expected_failures()
        summary = run_monitoring(model_name, settings, logged)
    except RunStopped as error:
        stop(error)
    from pipelines.run_report import format_monitoring_summary, write_monitoring_reports

    page = write_monitoring_reports(summary, REPORTS)
    click.echo("\n" + format_monitoring_summary(summary, page))
    if not summary["report"]["decision"]["retrain"]:
        return
    if not retrain:
        context.exit(RETRAINING_RECOMMENDED)
    click.echo("\nRetraining (--retrain): the training pipeline on the current DVC data")
    trained = train(context.find_root().params["config_path"], no_cache=False)
    promoted = trained["promotion"]["promote"]
    click.echo(
        f"\nRetrained: {model_name} version {trained['model_version']} "
        + ("promoted to production" if promoted else "not promoted")
        + f" ({trained['promotion']['reason']}); production is version "
        f"{trained['production_version']}"
    )


from deploy.cli import deploy_command, image_command  # noqa: E402  (light: no ZenML import)
from stack.cli import models_command, stack_command  # noqa: E402
from stack.new_project import new_project_command  # noqa: E402

cli.add_command(stack_command)
cli.add_command(new_project_command)
cli.add_command(models_command)
cli.add_command(image_command)
cli.add_command(deploy_command)


if __name__ == "__main__":
    cli()
