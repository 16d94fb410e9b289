"""The local ZenML server and dashboard (`zenml login --local`), opened on the pipeline runs.

ZenML's dashboard greets a new user with a survey form before anything else. This project
answers it for the local user (no e-mail, no newsletter), so the first page is the runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from pipelines.command_line import fail

RUNS_PAGE = "/projects/default/runs"


def zenml(*args: str) -> None:
    """The `zenml` command of this environment; its own error output is shown as it is."""
    executable = Path(sys.executable).with_name("zenml")
    result = subprocess.run([str(executable), *args], env=os.environ.copy())
    if result.returncode != 0:
        fail(f"Error: `zenml {' '.join(args)}` failed (exit {result.returncode}).")


def skip_survey() -> None:
    """Mark the onboarding survey as answered for the current user of the local server.

    ZenML's dashboard shows its survey while `email_opted_in` is unset or the user metadata
    lacks `finished_onboarding_survey`. `/current-user` is the endpoint that accepts both.
    """
    from zenml.client import Client
    from zenml.models import UserUpdate

    client = Client()
    user = client.active_user
    if user.email_opted_in is not None and user.user_metadata.get("finished_onboarding_survey"):
        return
    update = UserUpdate(
        name=user.name,
        email_opted_in=bool(user.email_opted_in),
        user_metadata={**user.user_metadata, "finished_onboarding_survey": True},
    )
    client.zen_store.put("/current-user", body=update)


def server_url() -> str:
    from zenml.client import Client

    return Client().zen_store.url.rstrip("/")


@click.group()
def main() -> None:
    """Start or stop the local ZenML dashboard."""


@main.command()
@click.option("--port", type=int, default=8237, show_default=True, help="Local TCP port.")
def start(port: int) -> None:
    """Start the local ZenML server (same store, so past runs show) and print the runs page."""
    zenml("login", "--local", "--port", str(port))
    skip_survey()
    click.echo(f"\nDashboard: {server_url()}{RUNS_PAGE}")
    click.echo("Stop it with `make dashboard-stop`.")


@main.command()
def stop() -> None:
    """Stop the local ZenML server; the client goes back to the embedded store."""
    zenml("logout", "--local")


if __name__ == "__main__":
    from pipelines.zenml_startup import set_quiet_defaults

    set_quiet_defaults()  # the same as run.py's
    main()
