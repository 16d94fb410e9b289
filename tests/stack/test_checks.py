"""Switch-time checks against small real things: an HTTP server, kubeconfig files, sockets."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from stack.checks import (
    StackUnavailable,
    check_docker_api,
    check_kube_context,
    check_registry,
    registry_v2_url,
)
from tests.stack.conftest import write_kubeconfig


def test_registry_urls_use_http_only_for_loopback_or_when_told():
    assert registry_v2_url("registry.example.com/team/iris") == "https://registry.example.com/v2/"
    assert registry_v2_url("127.0.0.1:5000/iris") == "http://127.0.0.1:5000/v2/"
    assert registry_v2_url("localhost:5000") == "http://localhost:5000/v2/"
    assert registry_v2_url("gpu-box:5000/x", insecure=True) == "http://gpu-box:5000/v2/"


@pytest.fixture
def answering() -> Iterator[dict]:
    """A loopback HTTP server whose /v2/ answers with the status the test sets."""
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state["path"] = self.path
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["uri"] = f"127.0.0.1:{server.server_address[1]}/iris"
    yield state
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [200, 401])
def test_a_registry_that_answers_or_wants_a_login_is_accepted(answering, status):
    answering["status"] = status
    check_registry(answering["uri"])
    assert answering["path"] == "/v2/"


def test_something_else_at_the_registry_uri_is_refused(answering):
    answering["status"] = 404
    with pytest.raises(StackUnavailable, match=r"answered 404, not a registry's 200 or 401"):
        check_registry(answering["uri"])


def test_a_registry_nobody_serves_is_named(answering):
    uri = answering["uri"]
    port = int(uri.split(":")[1].split("/")[0])
    with pytest.raises(StackUnavailable, match=rf"http://127.0.0.1:{port + 1}/v2/ is unreachable"):
        check_registry(f"127.0.0.1:{port + 1}/iris")


def test_the_kubeconfig_context_must_exist(tmp_path, monkeypatch):
    pytest.importorskip("kubernetes", reason="the kubernetes group is not installed")
    path = write_kubeconfig(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(path))
    check_kube_context("team-cluster")  # not the current context: still fine
    with pytest.raises(StackUnavailable) as error:
        check_kube_context("prod")
    assert str(error.value) == (
        f"The kubeconfig context 'prod' is not in {path} (contexts there: team-cluster, "
        "staging). Set IRIS_K8S_CONTEXT to one of them (`kubectl config get-contexts`), "
        "then switch again."
    )


def test_a_missing_kubeconfig_is_named(tmp_path, monkeypatch):
    pytest.importorskip("kubernetes", reason="the kubernetes group is not installed")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(
        StackUnavailable, match=rf"No kubeconfig could be read at {tmp_path}/absent"
    ):
        check_kube_context("prod")


def test_no_docker_api_names_the_socket_and_the_make_target(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    with pytest.raises(StackUnavailable) as error:
        check_docker_api()
    message = str(error.value)
    assert message.startswith(f"No Docker API answers at unix://{tmp_path}/absent.sock (")
    assert "`make podman-socket`" in message and "or start a Docker engine" in message


def test_a_cluster_that_does_not_take_the_run_is_one_line_naming_the_context():
    pytest.importorskip("kubernetes", reason="the kubernetes group is not installed")
    from kubernetes.client.exceptions import ApiException
    from urllib3 import HTTPSConnectionPool
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    from stack.checks import cluster_message

    pool = HTTPSConnectionPool("10.0.0.5", 6443)
    refused = NewConnectionError(pool, "Failed to establish a new connection: [Errno 111] refused")
    silent = MaxRetryError(pool, "/apis/batch/v1/namespaces/ml/jobs", reason=refused)
    said = cluster_message(silent, "prod")
    assert said.startswith(
        "the Kubernetes API at https://10.0.0.5:6443 (context 'prod') did not answer: "
        "Failed to establish a new connection: [Errno 111] refused. The step image was built"
    )
    assert said.endswith("`kubectl --context prod get namespaces`, then run again.")
    forbidden = cluster_message(ApiException(status=403, reason="Forbidden"), "prod")
    assert forbidden.startswith(
        "the Kubernetes API (context 'prod') refused the run: 403 Forbidden. The step image"
    )
    assert cluster_message(ValueError("bad"), "prod") is None
