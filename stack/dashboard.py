"""`make dashboard` / `make dashboard-stop`: the local ZenML server and its dashboard,
opened on the pipeline runs (`python -m stack.dashboard start|stop`; stack/local_server.py)."""

from __future__ import annotations

import click

from pipelines.command_line import fail


@click.group()
def main() -> None:
    """Start or stop the local ZenML dashboard."""


@main.command()
@click.option("--port", type=int, default=8237, show_default=True, help="Local TCP port.")
def start(port: int) -> None:
    """Start the local ZenML server (same store, so past runs show) and print the runs page."""
    from stack.local_server import ZenmlCommandFailed, start_server

    try:
        url = start_server(port)
    except ZenmlCommandFailed as error:
        fail(f"Error: {error}")
    click.echo(f"\nDashboard: {url}")
    click.echo("Stop it with `make dashboard-stop`.")


@main.command()
def stop() -> None:
    """Stop the local ZenML server; the client goes back to the embedded store."""
    from stack.local_server import ZenmlCommandFailed, stop_server

    try:
        stop_server()
    except ZenmlCommandFailed as error:
        fail(f"Error: {error}")


if __name__ == "__main__":
    from pipelines.zenml_startup import set_quiet_defaults

    set_quiet_defaults()  # the same as run.py's
    main()
