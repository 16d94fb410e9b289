"""The local ZenML server (`zenml login --local`) and its dashboard, opened on the pipeline runs.

ZenML's dashboard greets a new user with a survey form before anything else. This project
answers it for the local user (no e-mail, no newsletter), so the first page is the runs.
stack/dashboard.py holds the `make dashboard` / `make dashboard-stop` commands over these.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUNS_PAGE = "/projects/default/runs"


class ZenmlCommandFailed(RuntimeError):
    """A `zenml` command exited non-zero; its own error output was shown as it is."""


def zenml(*args: str) -> None:
    """The `zenml` command of this environment; its own error output is shown as it is."""
    executable = Path(sys.executable).with_name("zenml")
    result = subprocess.run([str(executable), *args], env=os.environ.copy())
    if result.returncode != 0:
        raise ZenmlCommandFailed(f"`zenml {' '.join(args)}` failed (exit {result.returncode}).")


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


def start_server(port: int) -> str:
    """Start the local server on the same store (so past runs show); the runs page's URL."""
    zenml("login", "--local", "--port", str(port))
    skip_survey()
    return f"{server_url()}{RUNS_PAGE}"


def stop_server() -> None:
    """Stop the local server; the client goes back to the embedded store."""
    zenml("logout", "--local")
