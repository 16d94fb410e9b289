"""The training pipeline with every step in a container, as a user runs it on the docker stack.

From a fresh ZenML state: moto S3, a local ZenML server, podman's Docker API on a socket of
the test's own (its own image store, docker.io blocked so that any public pull fails), and
the base image from `make base-image`. Then `python run.py stack docker` and `python run.py`.
The last test runs one step from the image pulled back from a registry, with plain
`podman run`, the way a Kubernetes pod would. Tests run in file order and share the state.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.containers import LOCAL_BASE_IMAGE
from tests.helpers import REPO, model_config, run_cli, training_config
from tests.stack.conftest import CONTAINER_TOOLS, require_tools, stop_zenml_server

require_tools((*CONTAINER_TOOLS, "debootstrap"))
if os.geteuid() != 0 and os.environ.get("IRIS_REQUIRE_CONTAINERS") != "1":
    pytest.skip("the base image needs root (debootstrap)", allow_module_level=True)
pytestmark = pytest.mark.slow

MODEL = "docker_stack_model"
STEP_LABEL = "label=iris-mlops.step-container=true"


@pytest.fixture(scope="module")
def env(container_env: dict[str, str], podman_socket: str) -> dict[str, str]:
    return container_env | {"DOCKER_HOST": podman_socket}


@pytest.fixture(scope="module", autouse=True)
def base_build(container_env: dict[str, str], container_state: Path) -> Iterator:
    """`make base-image BACKEND=podman` into the test's store, started first: it runs while
    the server starts and the stack is registered."""
    log = container_state / "base-image.log"
    process = subprocess.Popen(
        [str(REPO / "deploy" / "base_image.sh"), "podman"],
        env=container_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    yield process, log
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def base(base_build, env: dict[str, str]) -> dict:
    process, log = base_build
    assert process.wait(timeout=900) == 0, log.read_text()[-3000:]
    (facts,) = json.loads(podman(env, "image", "inspect", LOCAL_BASE_IMAGE))
    return facts


def podman(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"podman {' '.join(args[:3])}: {result.stderr[-2000:]}"
    return result.stdout


def step_containers(env: dict[str, str]) -> list[dict]:
    """Every step container `local_docker` has started (it does not remove them)."""
    ids = podman(env, "ps", "--all", "--filter", STEP_LABEL, "--format", "{{.ID}}").split()
    return json.loads(podman(env, "container", "inspect", *ids)) if ids else []


def build_containers(env: dict[str, str]) -> set[str]:
    """Working containers of image builds (buildah's), which `podman ps -a` does not list."""
    result = subprocess.run(
        ["buildah", "containers", "--quiet"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def step_name(container: dict) -> str:
    args = container["Args"]
    return args[args.index("--step_name") + 1]


def variable(container: dict, name: str) -> str:
    values = dict(item.split("=", 1) for item in container["Config"]["Env"])
    return values[name]


def zenml_script(env: dict[str, str], script: str, *args: str) -> str:
    """A Python snippet against the state in `env`; its last line of output."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


RUN_STEPS = (
    "import json, sys; from zenml.client import Client; "
    "run = Client().get_pipeline_run(sys.argv[1]); "
    "print(json.dumps({n: s.status.value for n, s in run.steps.items()}))"
)
DELETE_RUNS_OF = (
    "import sys; from zenml.client import Client; c = Client(); "
    "[c.delete_pipeline_run(r.id) for r in c.list_pipeline_runs(snapshot_id=sys.argv[1]).items]"
)
RUN_STEPS_OF = (
    "import json, sys; from zenml.client import Client; "
    "runs = Client().list_pipeline_runs(snapshot_id=sys.argv[1], hydrate=True).items; "
    "print(json.dumps([{n: s.status.value for n, s in r.steps.items()} for r in runs]))"
)


def timed_run(
    env: dict[str, str], cwd: Path, *args: str
) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = run_cli(*args, cwd=cwd, env=env, timeout=1500)
    (cwd / "last-run.log").write_text(result.stdout + result.stderr)
    return result, time.monotonic() - started


def moment(text: str) -> float:
    """A podman timestamp (nanoseconds, `Z` or an offset) as seconds since the epoch."""
    from datetime import datetime

    match = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    fraction = (match.group(2) or ".0")[:7]
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(match.group(1) + fraction + zone).timestamp()


def container_seconds(containers: list[dict]) -> tuple[float, float, float]:
    """First container created, last finished, and the sum of the containers' run times."""
    created = min(moment(c["Created"]) for c in containers)
    finished = max(moment(c["State"]["FinishedAt"]) for c in containers)
    busy = sum(
        moment(c["State"]["FinishedAt"]) - moment(c["State"]["StartedAt"]) for c in containers
    )
    return created, finished, busy


def bad_csv(iris_csv: Path, folder: Path) -> Path:
    """Two problems validation finds: a label that is no species, a value that is no number."""
    lines = iris_csv.read_text().splitlines()
    lines[5] = lines[5].replace("setosa", "rose")
    lines[9] = "abc," + lines[9].split(",", 1)[1]
    path = folder / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_switching_to_the_docker_stack(env, zenml_server):
    result = run_cli("stack", "docker", cwd=REPO, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Active stack: docker" in result.stdout


def test_training_runs_every_step_in_a_container_without_the_clients_disk(
    env, container_state, base, iris_csv, report
):
    config = training_config(container_state, iris_csv, MODEL)
    working = build_containers(env)
    started = time.time()
    result, wall = timed_run(env, container_state, "--config", str(config))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Model version  1: PROMOTED to production" in result.stdout
    assert build_containers(env) == working  # the step image's build left none behind

    run_name = re.search(r"^Run\s+(\S+)", result.stdout, re.MULTILINE).group(1)
    steps = json.loads(zenml_script(env, RUN_STEPS, run_name))
    assert set(steps.values()) == {"completed"}, steps
    containers = step_containers(env)
    assert sorted(step_name(c) for c in containers) == sorted(steps)  # one container each
    assert len({variable(c, "ZENML_DOCKER_ORCHESTRATOR_RUN_ID") for c in containers}) == 1

    # Nothing of the client's disk in any container: no project, no BentoML store, no
    # ZenML database; only the empty local stores folder that local_docker always mounts.
    empty = container_state / "zenml" / "container_local_stores"
    for container in containers:
        assert container["State"]["ExitCode"] == 0
        assert container["HostConfig"]["NetworkMode"] == "host"
        sources = [Path(mount["Source"]) for mount in container["Mounts"]]
        assert sources == [empty], (step_name(container), sources)
    assert list(empty.iterdir()) == []
    for forbidden in (REPO, Path(env["BENTOML_HOME"]), container_state / "zenml" / "local_stores"):
        assert not [
            s
            for c in containers
            for s in map(Path, (m["Source"] for m in c["Mounts"]))
            if s.is_relative_to(forbidden)
        ]

    # The base was used as it was built: no pull replaced it (docker.io is blocked anyway).
    (now,) = json.loads(podman(env, "image", "inspect", LOCAL_BASE_IMAGE))
    assert now["Id"] == base["Id"]
    image = containers[0]["Image"]
    (step_image,) = json.loads(podman(env, "image", "inspect", image))
    assert (
        step_image["RootFS"]["Layers"][: len(base["RootFS"]["Layers"])] == base["RootFS"]["Layers"]
    )
    size_mb = step_image["Size"] / 1e6
    first, last, busy = container_seconds(containers)
    report(
        f"docker stack: training run {wall:.0f} s wall: {first - started:.0f} s before the first "
        f"step container (image build, code upload), then {last - first:.0f} s to the last "
        f"one's end, {busy:.0f} s of it inside the {len(containers)} step containers "
        f"({busy / len(containers):.1f} s each); step image {size_mb:.0f} MB "
        f"(base {base['Size'] / 1e6:.0f} MB)"
    )


def test_the_promoted_version_is_what_serving_gets(env, container_state):
    result = run_cli(
        "--config",
        str(model_config(container_state, MODEL)),
        "predict",
        "5.1",
        "3.5",
        "1.4",
        "0.2",
        cwd=container_state,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setosa" in result.stdout
    assert f"{MODEL} version 1" in result.stdout


def test_bad_data_in_a_container_gets_the_local_stacks_message(env, container_state, iris_csv):
    bad = training_config(container_state, bad_csv(iris_csv, container_state), MODEL)
    result = run_cli("--config", str(bad), cwd=container_state, env=env, timeout=1200)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    # The same lines as on the local stack (tests/pipelines/test_training.py).
    assert "Training stopped: " in result.stderr
    assert "2 problems found" in result.stderr
    assert "'must be a number' at line 10" in result.stderr
    assert "'rose'" in result.stderr
    assert "The production model was not changed." in result.stderr
    assert "Traceback" not in output and "ContainerError" not in output
    assert "\\xe2" not in output  # no escaped bytes of a container's traceback


def test_a_step_runs_from_the_pulled_image_as_a_pod_would(env, registry, container_state):
    """Push the step image, pull it back by digest, run `load_data` with no mounts and only
    what a pod gets: the server's URL, the stack, the project, a run id.

    The run's name is fixed when the run is composed, so the step's run of a snapshot must
    not exist yet, as in a fresh Kubernetes run: the (failed) bad-data run is deleted first.
    """
    loads = [
        c
        for c in step_containers(env)
        if step_name(c) == "load_data" and c["State"]["ExitCode"] == 0
    ]
    load = max(loads, key=lambda c: moment(c["Created"]))  # the newest: the bad-data run's
    snapshot = load["Args"][load["Args"].index("--snapshot_id") + 1]
    built = load["Image"]
    target = f"{registry}/iris-mlops-steps:pod"
    podman(env, "tag", built, target)
    digest_file = container_state / "digest"
    podman(env, "push", "--tls-verify=false", "--digestfile", str(digest_file), target)
    pinned = f"{registry}/iris-mlops-steps@{digest_file.read_text().strip()}"
    podman(env, "rmi", "--force", built)  # every tag, and the containers that used it
    podman(env, "pull", "--tls-verify=false", pinned)
    (pulled,) = json.loads(podman(env, "image", "inspect", pinned))
    assert pulled["Id"] == built

    zenml_script(env, DELETE_RUNS_OF, snapshot)
    settings = {
        name: variable(load, name)
        for name in ("ZENML_STORE_URL", "ZENML_ACTIVE_STACK_ID", "ZENML_ACTIVE_PROJECT_ID")
    }
    settings |= {
        "ZENML_DOCKER_ORCHESTRATOR_RUN_ID": str(uuid.uuid4()),
        "ZENML_ANALYTICS_OPT_IN": "false",
    }
    command = ["run", "--name", "pod-simulation", "--network", "host"]
    for name, value in settings.items():
        command += ["--env", f"{name}={value}"]
    # The orchestrator's command: Path, then Args (`-m zenml.entrypoints.entrypoint ...`).
    command += ["--entrypoint", load["Path"], pinned, *load["Args"]]
    result = subprocess.run(
        ["podman", *command], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (pod,) = json.loads(podman(env, "container", "inspect", "pod-simulation"))
    assert pod["Mounts"] == []
    podman(env, "rm", "pod-simulation")
    # A new run of the snapshot, left "running": only load_data ran, and it completed.
    (steps,) = json.loads(zenml_script(env, RUN_STEPS_OF, snapshot))
    assert steps == {"load_data": "completed"}


def test_a_run_with_the_server_stopped_is_refused_in_one_message(env, container_state, iris_csv):
    """`make dashboard-stop`, then `make run` on the docker stack: refused before any image
    build or step, with what to do (last in the module: it stops the server)."""
    stop_zenml_server(env)
    config = training_config(container_state, iris_csv, MODEL)
    before = len(step_containers(env))
    result = run_cli("--config", str(config), cwd=container_state, env=env, timeout=300)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert "Training not started: The docker stack runs steps outside this process" in (
        result.stderr
    )
    assert "`make dashboard`" in result.stderr and "then run again." in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 1500, result.stderr
    assert len(step_containers(env)) == before


MODEL_VERSIONS = (
    "import sys; from zenml.client import Client; "
    "print(len(Client().list_model_versions(model_name_or_id=sys.argv[1]).items))"
)


def test_the_kubernetes_stack_builds_pushes_and_stops_at_the_cluster_in_one_line(
    env, base, registry, remote_server, container_state, iris_csv
):
    """The kubernetes path as far as this machine goes: `make zenml-server`'s server, the
    switch, the step image built and pushed by ZenML through the socket to a plain-HTTP
    loopback registry; then the kubeconfig's cluster (127.0.0.1:6443) does not answer."""
    k8s = env | remote_server
    k8s |= {"IRIS_K8S_CONTEXT": "team-cluster", "IRIS_CONTAINER_REGISTRY_URI": f"{registry}/iris"}
    switched = run_cli("stack", "kubernetes", cwd=REPO, env=k8s)
    assert switched.returncode == 0, switched.stdout + switched.stderr
    config = training_config(container_state, iris_csv, "k8s_model")
    result, _ = timed_run(k8s, container_state, "--config", str(config))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-6000:]
    assert (
        "Training failed before any step ran: the Kubernetes API at https://127.0.0.1:6443 "
        "(context 'team-cluster') did not answer: Failed to establish a new connection: "
        "[Errno 111] Connection refused. The step image was built and pushed; no step ran. "
        "Check the cluster with `kubectl --context team-cluster get namespaces`, then run again."
    ) in result.stderr
    assert "The production model was not changed." in result.stderr
    assert "Traceback" not in output and "MaxRetryError" not in output
    # Pushed by ZenML itself (the Docker SDK through the socket), over plain HTTP, under the
    # stack's registry and the step image's repository (IRIS_STEP_IMAGE_REPOSITORY).
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog") as answer:
        assert "iris/iris-mlops-steps" in json.load(answer)["repositories"]
    with urllib.request.urlopen(f"http://{registry}/v2/iris/iris-mlops-steps/tags/list") as answer:
        tags = json.load(answer)["tags"]
    assert [tag for tag in tags if tag.startswith("training-")], tags
    # The failed submission leaves no model version behind.
    assert zenml_script(k8s, MODEL_VERSIONS, "k8s_model") == "0"
