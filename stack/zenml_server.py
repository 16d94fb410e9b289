"""A ZenML server that clients count as remote, on loopback: `make zenml-server`.

ZenML runs a stack with a remote orchestrator (kubernetes) only when the client's store is
a remote server: one whose server id is not the client's own user id (`ServerModel.is_local`
in zenml/models/v2/misc/server_models.py; the refusal is `Stack.prepare_pipeline_submission`).
`zenml login --local` (`make dashboard`) starts a daemon with the client's user id and
database, so it counts as local. This runs ZenML's server app from the installed package
(uvicorn) with a config folder and SQLite database of its own, so the server id is its own and
every client sees a remote server, as it would a deployed one. Its admin password and a
service account's API key are made once and kept, readable by their owner only, in its folder.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import click

from pipelines.command_line import fail
from stack.foreground import ForwardedSignals
from stack.foreground import stop as stop_process

HOST = "127.0.0.1"
ADMIN = "default"  # the admin user ZenML creates with a new database
CLIENT_ACCOUNT = "iris-mlops-client"  # the service account whose API key clients log in with


def private_file(path: Path, make: Callable[[], str]) -> str:
    """The text of `path`, written by `make()` first if missing (owner-only permissions)."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(make())
    return path.read_text().strip()


def server_env(home: Path, port: int) -> dict[str, str]:
    """The server's whole environment: nothing of the caller's ZenML settings leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ZENML_CONFIG_PATH": str(home / "config"),
        "ZENML_STORE_URL": f"sqlite:///{home / 'zenml.db'}",
        "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
        "ZENML_SERVER_DEPLOYMENT_TYPE": "other",
        # Active from the start, with its admin user: no dashboard onboarding needed.
        "ZENML_SERVER_AUTO_ACTIVATE": "true",
        "ZENML_DEFAULT_USER_NAME": ADMIN,
        "ZENML_DEFAULT_USER_PASSWORD": private_file(
            home / "admin.password", lambda: secrets.token_urlsafe(24)
        ),
        "ZENML_SERVER_JWT_SECRET_KEY": private_file(home / "jwt.secret", secrets.token_hex),
        "ZENML_SERVER_SERVER_URL": f"http://{HOST}:{port}",
        "ZENML_ANALYTICS_OPT_IN": "false",
    }


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the ZenML server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ZenML server answered at {url}") from None
            time.sleep(0.25)


def start(home: Path, port: int) -> subprocess.Popen:
    """The server on HOST:port with its data in `home`; the caller stops it."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = [sys.executable, "-m", "uvicorn", "zenml.zen_server.zen_server_api:app"]
    command += ["--host", HOST, "--port", str(port), "--workers", "1", "--log-level", "warning"]
    log = (home / "server.log").open("a")
    process = subprocess.Popen(
        command, env=server_env(home, port), stdout=log, stderr=subprocess.STDOUT, cwd=home
    )
    try:
        wait_until_up(f"http://{HOST}:{port}", process)
    except BaseException:  # a signal too (stack/foreground.py)
        stop_process(process)
        raise
    return process


def client_key(home: Path, url: str) -> Path:
    """The API key file of the clients' service account, made once by the admin user."""
    key = home / "client.key"
    if key.exists() and key.stat().st_size:
        return key
    admin = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_")},
        "ZENML_CONFIG_PATH": str(home / "admin-client"),
        "ZENML_STORE_URL": url,
        "ZENML_STORE_USERNAME": ADMIN,
        "ZENML_STORE_PASSWORD": (home / "admin.password").read_text().strip(),
        "ZENML_ANALYTICS_OPT_IN": "false",
    }
    key.touch(mode=0o600)
    zenml = Path(sys.executable).with_name("zenml")
    command = [str(zenml), "service-account", "create", CLIENT_ACCOUNT, "--output-file", str(key)]
    result = subprocess.run(command, env=admin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not key.stat().st_size:
        key.unlink(missing_ok=True)
        raise RuntimeError(f"no API key for the clients: {result.stderr.strip()[-500:]}")
    return key


@click.command()
@click.option("--port", type=int, default=8238, show_default=True, envvar="IRIS_ZENML_SERVER_PORT")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".iris-mlops" / "zenml-server",
    show_default="~/.iris-mlops/zenml-server",
    envvar="IRIS_ZENML_SERVER_HOME",
    help="The server's folder: its database, settings, logs and the clients' API key.",
)
def main(port: int, home: Path) -> None:
    """Run a ZenML server that clients count as remote until Ctrl+C or SIGTERM."""
    url = f"http://{HOST}:{port}"
    with ForwardedSignals() as signals:
        try:
            signals.watch(start(home, port))
            key = client_key(home, url)
        except (RuntimeError, TimeoutError) as error:
            fail(f"ZenML server not started: {error} (its log: {home / 'server.log'})")
        tell_how_to_use(url, home, key)
        status = signals.wait()
    if status:
        fail(f"Error: the ZenML server exited with {status} (its log: {home / 'server.log'}).")


def tell_how_to_use(url: str, home: Path, key: Path) -> None:
    click.echo(f"ZenML server at {url} (counts as remote), its data in {home}.")
    click.echo("In another shell, to connect this project to it (then `make stack-kubernetes`):\n")
    click.echo(f"  zenml login {url} --api-key < {key}\n")
    click.echo(f"or, for one shell: export ZENML_STORE_URL={url} ZENML_STORE_API_KEY=$(cat {key})")
    click.echo("\nCtrl+C stops the server; its data stays for the next start.")


if __name__ == "__main__":
    main()
