"""`make zenml-server`: a ZenML server on loopback that clients count as remote (the one
the kubernetes stack needs), up, connected to, stopped by SIGTERM, and started again."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.helpers import REPO
from tests.stack.conftest import isolated_env, start_remote_server

pytestmark = pytest.mark.slow

STORE_FACTS = (
    "from zenml.client import Client; from stack.checks import check_zenml_server; "
    "store = Client().zen_store; check_zenml_server('kubernetes', then='run'); "
    "print(store.type.value, store.is_local_store(), Client().active_user.name)"
)


def client_facts(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", STORE_FACTS], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        return probe.connect_ex((parts.hostname, parts.port)) == 0


def test_a_client_sees_a_remote_server_and_sigterm_stops_it(tmp_path):
    home = tmp_path / "server"
    settings, process = start_remote_server(home)
    try:
        client = isolated_env(tmp_path / "client") | settings
        # ZenML's own test: a REST store that is not local, with the service account's key.
        assert client_facts(client) == "rest False iris-mlops-client"
        assert oct((home / "client.key").stat().st_mode)[-3:] == "600"
        assert oct((home / "admin.password").stat().st_mode)[-3:] == "600"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        assert not listening(settings["ZENML_STORE_URL"])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Started again on its folder: the same database and key, so clients reconnect as they were.
    again, process = start_remote_server(home)
    try:
        assert again["ZENML_STORE_API_KEY"] == settings["ZENML_STORE_API_KEY"]
        assert client_facts(isolated_env(tmp_path / "client") | again).startswith("rest False")
    finally:
        process.terminate()
        process.wait(timeout=60)
