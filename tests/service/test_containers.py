"""The service as an image, built and run for real with podman: the Debian base image, the
bento image, a container answering as `bentoml serve` does, and a push to a real registry.

Podman works in a store of its own (CONTAINERS_STORAGE_CONF), so the user's images are
neither used nor touched. `.ci/run` installs the tools; elsewhere the tests skip without
them, unless IRIS_REQUIRE_CONTAINERS=1 (set by CI) turns that into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from deploy.containers import LOCAL_BASE_IMAGE, base_image, registry_config
from tests.helpers import REPO, free_port, run_cli
from tests.service.conftest import wait_ready

TOOLS = ("podman", "buildah", "debootstrap", "docker-registry")
ROWS = [
    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    {"sepal_length": 5.7, "sepal_width": 2.8, "petal_length": 4.1, "petal_width": 1.3},
    {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5},
]

missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if os.geteuid() != 0:
    missing.append("root (debootstrap)")
if missing and os.environ.get("IRIS_REQUIRE_CONTAINERS") != "1":
    pytest.skip(f"container tools missing: {', '.join(missing)}", allow_module_level=True)

pytestmark = pytest.mark.slow


def podman(*args: str, timeout: float = 300) -> str:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def podman_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A podman/buildah image store of the tests' own."""
    assert not missing, f"container tools missing: {', '.join(missing)}"
    folder = tmp_path_factory.mktemp("podman")
    conf = folder / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{folder / "graph"}"\n'
        f'runroot = "{folder / "run"}"\n'
    )
    previous = os.environ.get("CONTAINERS_STORAGE_CONF")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(conf)
    yield
    subprocess.run(["podman", "rm", "--all", "--force"], capture_output=True)
    subprocess.run(["podman", "rmi", "--all", "--force"], capture_output=True)
    if previous is None:
        os.environ.pop("CONTAINERS_STORAGE_CONF")
    else:
        os.environ["CONTAINERS_STORAGE_CONF"] = previous
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def base(podman_store: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`make base-image BACKEND=podman`: Debian's Python, under the project's own name.
    Run with TMPDIR set to a folder the new root does not have (a chroot inherits it)."""
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    result = subprocess.run(
        [str(REPO / "deploy" / "base_image.sh"), "podman"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert not list(tmpdir.iterdir())  # its temp root and log, made there, are gone
    # Its own name: the public python image it stands in for is not shadowed in the store.
    images = podman("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert images == [LOCAL_BASE_IMAGE] != [base_image()]
    return LOCAL_BASE_IMAGE


def build(backend: str, build_dir: Path, served_model: str, *options: str) -> dict[str, str]:
    """`make containerize BACKEND=...`; returns the record run/push/deploy read."""
    env = {**os.environ, "IRIS_BUILD_DIR": str(build_dir)}
    command = ("image", "build", "--model", served_model, "--backend", backend, *options)
    result = run_cli(*command, cwd=REPO, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    print(result.stdout)
    return json.loads((build_dir / "image.json").read_text())


@pytest.fixture(scope="module")
def image(base: str, served_model: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`make wheelhouse`, then `make containerize BACKEND=podman OFFLINE=1`: the build runs
    with no network at all (podman's --network none), so nothing can come from an index."""
    build_dir = tmp_path_factory.mktemp("build")
    wheelhouse = build_dir / "wheelhouse"
    result = run_cli("image", "wheels", str(wheelhouse), cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    record = build("podman", build_dir, served_model, "--wheelhouse", str(wheelhouse))
    assert record["offline"] == "true"
    return {**record, "build_dir": build_dir}


def start_image(image: dict, log: Path, **env: str) -> tuple[str, subprocess.Popen]:
    """`make run-image` with the settings the source server of tests/service runs with (no
    backend named: the one that built the image, podman's store for podman and buildah)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "image",
            "run",
            "--port",
            str(port),
            "--env",
            "SERVING_MAX_RECORDS=50",
        ],
        cwd=REPO,
        env={**os.environ, "IRIS_BUILD_DIR": str(image["build_dir"]), **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, timeout=120)
    except Exception:
        process.kill()
        raise AssertionError(f"the image did not start:\n{log.read_text()[-3000:]}") from None
    return url, process


def test_the_image_answers_as_bentoml_serve_does(image, server, served_model, tmp_path):
    url, process = start_image(image, tmp_path / "run.log")
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
        body = {"records": ROWS}
        in_image = httpx.post(f"{url}/predict", json=body)
        from_source = httpx.post(f"{server}/predict", json=body)
        assert in_image.status_code == 200, in_image.text
        # The same answer, but for each request's own id (the inference log's key).
        answered, expected = in_image.json(), from_source.json()
        assert len(answered.pop("request_id")) == len(expected.pop("request_id")) == 32
        assert answered == expected
        labels = [row["label"] for row in in_image.json()["predictions"]]
        assert labels == ["setosa", "versicolor", "virginica"]

        production = Client().get_model_version(served_model, ModelStages.PRODUCTION)
        assert in_image.json()["model_version"] == str(production.number)
        card = httpx.get(f"{url}/model").json()
        assert card == httpx.get(f"{server}/model").json()
        assert card["bentoml_tag"] == image["model"]

        bad = {"records": [{**ROWS[0], "petal_width": "wide"}]}
        refused = httpx.post(f"{url}/predict", json=bad)
        assert refused.status_code == 400
        assert refused.json() == httpx.post(f"{server}/predict", json=bad).json()
        assert httpx.get(f"{url}/ui").status_code == 200
        # Published on the host's loopback only, unless HOST= asks for more.
        assert podman("port", "iris-classifier").split() == [
            "3000/tcp",
            "->",
            f"127.0.0.1:{url.rsplit(':', 1)[1]}",
        ]
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C in `make run-image` amounts to
        code = process.wait(timeout=60)
    assert code == 0, (tmp_path / "run.log").read_text()[-2000:]
    assert podman("ps", "--all", "--quiet") == ""  # stopped and removed


def test_the_image_takes_the_api_token_from_the_run_not_the_image(image, tmp_path):
    """`SERVING_API_TOKEN=… make run-image`: the container gets the token by name."""
    url, process = start_image(image, tmp_path / "run.log", SERVING_API_TOKEN="run-secret")
    try:
        body = {"records": ROWS[:1]}
        assert httpx.post(f"{url}/predict", json=body).status_code == 401
        allowed = {"Authorization": "Bearer run-secret"}
        assert httpx.post(f"{url}/predict", json=body, headers=allowed).status_code == 200
        (facts,) = json.loads(podman("inspect", "iris-classifier"))
        assert "SERVING_API_TOKEN=run-secret" in facts["Config"]["Env"]  # the run's, by name
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_the_image_is_trim_unprivileged_and_carries_lineage_but_no_credentials(image, report):
    reference = image["image"]
    (facts,) = json.loads(podman("image", "inspect", reference))
    size_mb = facts["Size"] / 1e6
    report(f"service image {reference}: {size_mb:.0f} MB (podman, uncompressed; target 800 MB)")
    assert size_mb <= 800, f"{size_mb:.0f} MB: over the 800 MB target"

    assert facts["Config"]["User"] == "bentoml"
    assert podman("run", "--rm", "--entrypoint", "id", reference, "-u").strip() != "0"

    labels = facts["Config"]["Labels"]
    production = Client().get_model_version(image["model"].split(":")[0], ModelStages.PRODUCTION)
    assert labels["ai.iris-mlops.zenml-model-version"] == str(production.number)
    assert labels["ai.iris-mlops.bentoml-model"] == image["model"]
    run = Client().get_pipeline_run(labels["ai.iris-mlops.zenml-run-id"])
    assert run.model_version.number == production.number  # the run that trained it

    names = [variable.split("=")[0] for variable in facts["Config"]["Env"]]
    assert not [n for n in names if n.startswith(("AWS_", "ZENML_")) or "SECRET" in n], names
    found = podman(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        reference,
        "-c",
        "find / -xdev \\( -name .aws -o -name .zen -o -name settings.yaml -o -name '*.db'"
        " -o -name config.yaml -o -name .env \\) 2>/dev/null; ls /home/bentoml/bento/src",
    )
    # service/'s modules, the build file and the page: nothing else of the project.
    packed = [path.name for path in (REPO / "service").glob("*.py")]
    assert sorted(found.split()) == sorted([*packed, "bentofile.yaml", "static"]), found
    assert {"classifier_service.py", "connection_limits.py", "inference_log.py"} <= set(packed)
    assert "BENTOML_HOST" in names  # 0.0.0.0 inside the container's own network
    assert "SERVING_API_TOKEN" not in names  # a secret comes from the run, never the image


def test_the_image_runs_as_kubernetes_runs_it(image):
    """Read-only root, writable /tmp only, no capabilities: the Deployment's settings."""
    port = free_port()
    name = "iris-classifier-restricted"
    podman(
        "run",
        "--detach",
        "--rm",
        "--name",
        name,
        "--read-only",
        "--read-only-tmpfs=false",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "1034:1034",
        "--publish",
        f"{port}:3000",
        image["image"],
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process=None)
        response = httpx.post(f"{url}/predict", json={"records": ROWS[:1]})
        assert response.status_code == 200, podman("logs", name)[-2000:]
        assert httpx.get(f"{url}/healthz").status_code == 200
    finally:
        podman("stop", "--time", "30", name)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry (distribution) on a free loopback port."""
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(registry_config(tmp_path / "storage", port))
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=(tmp_path / "registry.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_push_then_pull_gives_the_same_digest(image, registry):
    env = {**os.environ, "IRIS_BUILD_DIR": str(image["build_dir"])}
    result = run_cli(
        "image",
        "push",
        f"{registry}/mlops",
        "--no-tls-verify",
        cwd=REPO,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pushed = result.stdout.split("Pushed ")[1].strip()
    name, digest = pushed.split("@")
    assert name == f"{registry}/mlops/{image['image']}"
    record = json.loads((image["build_dir"] / "image.json").read_text())
    assert record["pushed"] == pushed  # what `make deploy` will name

    repository, tag = name.removeprefix(f"{registry}/").rsplit(":", 1)
    manifest = httpx.head(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    assert manifest.headers["Docker-Content-Digest"] == digest

    # Pull into a store without the image (this module's last use of it), so every layer
    # that is not the base's comes from the registry.
    (built,) = json.loads(podman("image", "inspect", image["image"]))
    podman("rmi", "--force", built["Id"])
    podman("pull", "--tls-verify=false", pushed)
    (pulled,) = json.loads(podman("image", "inspect", pushed))
    assert f"{name.rsplit(':', 1)[0]}@{digest}" in pulled["RepoDigests"]
    assert pulled["Id"] == built["Id"]  # the very image that was built and tested


def test_buildah_builds_an_image_that_serves(base, served_model, tmp_path, report):
    """The usual build: packages from the package index."""
    record = build("buildah", tmp_path, served_model)
    assert (record["backend"], record["offline"]) == ("buildah", "false")
    report(f"service image {record['image']} built by buildah: {record['size_mb']} MB")
    url, process = start_image({**record, "build_dir": tmp_path}, tmp_path / "run.log")
    try:
        response = httpx.post(f"{url}/predict", json={"records": ROWS[2:]})
        assert response.json()["predictions"][0]["label"] == "virginica"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_the_base_image_trusts_the_hosts_extra_certificates(base, report):
    bundle = podman(
        "run", "--rm", "--entrypoint", "cat", base, "/etc/ssl/certs/ca-certificates.crt"
    )
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    for certificate in extra:
        body = "".join(certificate.read_text().split("-----")[2].split())
        assert body in "".join(bundle.split()), f"{certificate.name} is not trusted in the image"
    version = podman("run", "--rm", base, "python", "--version")
    assert version.startswith("Python 3.11")
    size = int(podman("image", "inspect", "--format", "{{.Size}}", base)) / 1e6
    report(f"base image {base}: {size:.0f} MB")
