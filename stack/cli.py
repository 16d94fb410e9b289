"""The `stack` and `models` commands of run.py. ZenML is imported only when they run."""

from __future__ import annotations

import click

from pipelines.command_line import fail, model_from, model_option, warn
from stack.recipes import RECIPES


@click.command("stack")
@click.argument("name", required=False, type=click.Choice(RECIPES))
@click.pass_context
def stack_command(context: click.Context, name: str | None) -> None:
    """Show the active stack, or switch to stack NAME (registered first if needed).

    Switching twice changes nothing the second time. Settings come from environment
    variables or stack/settings.yaml (docs/stacks.md); credentials go into a ZenML secret.
    Switching to a stack whose steps cannot read production (the --config's model) says so.
    """
    from stack.checks import StackUnavailable
    from stack.s3 import S3Unavailable
    from stack.settings import StackSettingsError
    from stack.switch import describe_active, production_out_of_reach, switch

    if name is not None:
        try:
            changes = switch(name)
        except (StackSettingsError, StackUnavailable, S3Unavailable) as error:
            fail(f"Stack not changed: {error}")
        for change in changes:
            click.echo(f"- {change}")
        if not changes:
            click.echo(f"Nothing changed: the {name} stack is registered and active.")
        if reason := production_out_of_reach(name, model_from(context, None)):
            warn(reason)
    click.echo("\n".join(describe_active()))


@click.command("models")
@model_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--version",
    "number",
    type=click.IntRange(min=1),
    help="Show version N's whole story instead of the list (N is the `model_version` of "
    "the service's /model).",
)
@click.pass_context
def models_command(
    context: click.Context, model_name: str | None, limit: int, number: int | None
) -> None:
    """List the model's versions, newest first: stage, metrics, data md5, run, decision.

    With --version N: that version's stage, run, data, model, metrics, promotion and its
    export in this machine's BentoML store. An unknown model or version exits with 1.
    """
    from deploy.model_store import export_lines
    from pipelines.model_registry import (
        UnknownModel,
        format_story,
        format_table,
        list_versions,
        version_story,
    )

    name = model_from(context, model_name)
    try:
        if number is not None:
            story = version_story(name, number) + export_lines(name, number)
            click.echo(format_story(name, number, story))
            return
        rows, total = list_versions(name, limit)
    except UnknownModel as error:
        fail(str(error))
    click.echo(f"Model '{name}': showing {len(rows)} of {total} version(s), newest first\n")
    click.echo(format_table(rows))
