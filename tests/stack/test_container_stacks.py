"""The docker and kubernetes recipes for real: what switching checks before it registers.

One ZenML state for the module (tests/stack/conftest.py), with a moto S3 server, podman's
Docker API on a socket of its own, a local registry, a kubeconfig file (reading contexts
needs no cluster) and, from the second test on, a local ZenML server. Tests run in file
order.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, run_cli
from tests.stack.conftest import CONTAINER_TOOLS, require_tools

require_tools(CONTAINER_TOOLS)
pytest.importorskip("kubernetes", reason="the kubernetes group is not installed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(container_env: dict[str, str]) -> dict[str, str]:
    return container_env


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = run_cli(*args, cwd=REPO, env=env)
    return result.returncode, result.stdout + result.stderr


def registered(env: dict[str, str]) -> dict:
    """Stacks, components and the active stack of the state in `env`, as ZenML lists them."""
    script = (
        "import json; from zenml.client import Client; c = Client(); print(json.dumps({"
        "'stacks': sorted(s.name for s in c.list_stacks(size=100).items),"
        "'components': sorted(x.name for x in c.list_stack_components(size=100).items),"
        "'active': c.active_stack_model.name}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def kubernetes_env(env: dict[str, str], registry: str, context: str) -> dict[str, str]:
    return env | {"IRIS_K8S_CONTEXT": context, "IRIS_CONTAINER_REGISTRY_URI": f"{registry}/iris"}


def test_container_stacks_refuse_the_embedded_store(env):
    before = registered(env)
    code, output = cli(env, "stack", "docker")
    assert code == 1
    assert "Stack not changed: The docker stack runs steps outside this process" in output
    assert "this client uses the embedded SQLite store" in output
    assert "`make dashboard` (`zenml login --local`)" in output
    assert "`zenml login <url>`" in output

    k8s = env | {"IRIS_K8S_CONTEXT": "team-cluster", "IRIS_CONTAINER_REGISTRY_URI": "r.example/x"}
    code, output = cli(k8s, "stack", "kubernetes")
    assert code == 1
    assert "a ZenML server the cluster's pods can reach with `zenml login <url>`" in output
    assert "https://docs.zenml.io/deploying-zenml/deploying-zenml" in output
    assert "Traceback" not in output
    assert registered(env) == before


def test_the_docker_stack_needs_a_docker_api(env, zenml_server):
    before = registered(env)
    code, output = cli(env, "stack", "docker")
    assert code == 1
    assert f"No Docker API answers at {env['DOCKER_HOST']}" in output
    assert "`make podman-socket` and export the DOCKER_HOST it prints" in output
    assert "Traceback" not in output
    assert registered(env) == before


def test_the_docker_stack_registers_once_through_podmans_socket(env, zenml_server, podman_socket):
    docker = env | {"DOCKER_HOST": podman_socket}
    code, output = cli(docker, "stack", "docker")
    assert code == 0, output
    for line in (
        "registered orchestrator 'docker-orchestrator' (local_docker)",
        "registered artifact store 's3-artifact-store' (s3)",
        "registered image builder 'local-image-builder' (local)",
        "activated stack 'docker'",
        "Active stack: docker",
    ):
        assert line in output
    code, again = cli(docker, "stack", "docker")
    assert code == 0, again
    assert "Nothing changed: the docker stack is registered and active." in again

    # The socket a run is given does not answer: the run says so before anything starts.
    code, output = cli(env, "--no-cache")
    assert code == 1
    assert f"Training not started: No Docker API answers at {env['DOCKER_HOST']}" in output
    assert "Nothing was run; the production model was not changed." in output
    assert "Traceback" not in output


def test_the_kubernetes_stack_refuses_the_local_server_naming_the_one_it_needs(
    env, zenml_server, podman_socket, registry
):
    """`make dashboard`'s server counts as local: ZenML would refuse the run at submission."""
    before = registered(env)
    k8s = kubernetes_env(env, registry, "team-cluster") | {"DOCKER_HOST": podman_socket}
    code, output = cli(k8s, "stack", "kubernetes")
    assert code == 1
    assert (
        f"Stack not changed: The kubernetes stack needs a ZenML server that counts as remote; "
        f"{zenml_server} is the local one"
    ) in output
    assert "Start `make zenml-server` and connect to it as it prints" in output
    assert "Traceback" not in output
    assert registered(env) == before


def test_a_wrong_kubeconfig_context_is_refused_before_anything_is_registered(
    env, remote_server, podman_socket, registry
):
    env = env | remote_server
    before = registered(env)
    wrong = kubernetes_env(env, registry, "prod") | {"DOCKER_HOST": podman_socket}
    code, output = cli(wrong, "stack", "kubernetes")
    assert code == 1
    assert (
        f"Stack not changed: The kubeconfig context 'prod' is not in {env['KUBECONFIG']} "
        "(contexts there: team-cluster, staging)."
    ) in output
    assert "Traceback" not in output

    unserved = kubernetes_env(env, "127.0.0.1:9", "team-cluster") | {"DOCKER_HOST": podman_socket}
    code, output = cli(unserved, "stack", "kubernetes")
    assert code == 1
    assert "The container registry at http://127.0.0.1:9/v2/ is unreachable" in output
    assert registered(env) == before


def test_the_kubernetes_stack_registers_with_a_context_a_registry_and_a_server(
    env, remote_server, podman_socket, registry
):
    env = env | remote_server  # `make zenml-server`'s, which counts as remote
    right = kubernetes_env(env, registry, "team-cluster") | {"DOCKER_HOST": podman_socket}
    code, output = cli(right, "stack", "kubernetes")
    assert code == 0, output
    assert "registered orchestrator 'k8s-orchestrator' (kubernetes)" in output
    assert f"container_registry   k8s-registry (default) {registry}/iris" in output
    assert "Active stack: kubernetes" in output
    now = registered(env)
    assert now["active"] == "kubernetes"
    assert {"docker", "kubernetes", "s3"} & set(now["stacks"]) == {"kubernetes"}  # its own store

    code, output = cli(env, "stack", "local")
    assert code == 0, output
