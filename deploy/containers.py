"""The service as a container image: build it (`bentoml containerize`), run it, push it.

Plain functions over the container tools, so the Makefile, `python run.py image ...` and the
tests share one path. `buildah` only builds: its images live in podman's store, so they run
and push with podman. The newest build is recorded in build/image.json (IRIS_BUILD_DIR moves
build/), which `run`, `push` and the Kubernetes manifests read, so they all mean one image.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from pipelines.project_paths import PROJECT_ROOT, SERVICE_DIR
from service.export_contract import ExportLabels

BACKENDS = ("docker", "podman", "buildah")
CONTAINER_PORT = 3000  # BentoML's port inside the image
UV = str(PROJECT_ROOT / ".venv" / "bin" / "uv")
PIP = "pip==26.3"  # downloads the wheelhouse (uv has no download command)


class ImageError(RuntimeError):
    """A build, run or push cannot go on; the message says what to do."""


# `make base-image` (deploy/base_image.sh) tags its build with this name of the project's
# own, never with a public image's name, which it would shadow in that store.
LOCAL_BASE_IMAGE = "localhost/iris-mlops/python:3.11"


def base_image() -> str:
    """The public image the generated Dockerfile starts FROM unless told otherwise
    (service/bentofile.yaml; its build argument BASE_IMAGE overrides it)."""
    bentofile = yaml.safe_load((SERVICE_DIR / "bentofile.yaml").read_text())
    return bentofile["docker"]["base_image"]


def engine(backend: str) -> str:
    """The tool that runs and pushes images for `backend` (buildah builds into podman's store)."""
    return "podman" if backend == "buildah" else backend


def check_tool(tool: str) -> None:
    """Fail early, with the fix, when a container tool is missing or has no engine."""
    if tool not in BACKENDS:
        raise ImageError(f"Unknown backend '{tool}': use one of {', '.join(BACKENDS)}.")
    if shutil.which(tool) is None:
        raise ImageError(f"'{tool}' is not installed (Debian: apt-get install {tool}).")
    if tool == "docker" and run([tool, "info"], check=False).returncode != 0:
        raise ImageError(
            "No Docker engine answers (`docker info` failed). Start one, or build with "
            "BACKEND=podman or BACKEND=buildah, which need no daemon."
        )


def run(command: list[str], check: bool = True, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if check and result.returncode != 0:
        raise ImageError(
            f"`{' '.join(command[:3])} ...` failed ({result.returncode}):\n"
            + (result.stdout[-2000:] + result.stderr[-3000:]).strip()
        )
    return result


def has_image(backend: str, reference: str) -> bool:
    command = {
        "docker": ["docker", "image", "inspect", reference],
        "podman": ["podman", "image", "exists", reference],
        "buildah": ["buildah", "inspect", "--type", "image", reference],
    }[backend]
    return run(command, check=False).returncode == 0


def build_bento(model_name: str) -> str:
    """`bentoml build` of the service with the model's newest export; returns the bento tag.

    `--arg model=` is recorded in the bento, which then serves that model wherever it goes.
    """
    command = ["build", "--output", "tag", "--arg", f"model={model_name}"]
    output = run([sys.executable, "-m", "bentoml", *command], cwd=SERVICE_DIR)
    return output.stdout.strip().splitlines()[-1].removeprefix("__tag__:")


def model_labels(bento_tag: str) -> dict[str, str]:
    """OCI labels that tie the image to the bento, the model version and its run."""
    import bentoml

    bento = bentoml.get(bento_tag)
    model = bento.info.all_models[0]
    labels = ExportLabels.of(bentoml.models.get(model.tag).info.labels)
    return {
        "org.opencontainers.image.title": bento.tag.name,
        "org.opencontainers.image.version": bento.tag.version,
        "ai.iris-mlops.bentoml-model": str(model.tag),
        "ai.iris-mlops.zenml-model": labels.model if labels else "",
        "ai.iris-mlops.zenml-model-version": labels.version if labels else "",
        "ai.iris-mlops.zenml-run-id": labels.run_id if labels else "",
        "ai.iris-mlops.data-md5": labels.data_md5 if labels else "",
    }


def download_wheels(folder: Path) -> int:
    """The image's packages (service/requirements.txt) as wheels for Linux, CPython 3.11.

    Run where PyPI is reachable; `containerize(..., wheelhouse=folder)` then builds with no
    network at all. pip, since uv has no download command; the machine's pip config is
    ignored so that only PyPI (or PIP_INDEX_URL) is asked.
    """
    machine = platform.machine()
    # pip takes no "manylinux up to": list each glibc up to 2.36, the base image's (Debian 12).
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, 37)]
    command = [UV, "tool", "run", "--from", PIP, "pip", "download", "--quiet"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11"]
    command += ["--abi", "cp311", *(f"--platform={tag}" for tag in platforms)]
    command += ["--dest", str(folder), "-r", str(SERVICE_DIR / "requirements.txt")]
    run(command, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    return len(list(folder.glob("*.whl")))


def offline_options(wheelhouse: Path) -> list[str]:
    """podman/buildah build options: no network; uv installs from the mounted wheelhouse."""
    return [
        "--opt",
        "network=none",
        "--opt",
        f"volume={wheelhouse.resolve()}:/wheelhouse:ro",
        "--opt",
        "build-arg=UV_FIND_LINKS=/wheelhouse",
        "--opt",
        "build-arg=UV_OFFLINE=1",
    ]


def containerize(backend: str, model_name: str, wheelhouse: Path | None = None) -> dict[str, str]:
    """Build a bento of the production model and an image of it; record and return its facts.

    With a wheelhouse (`download_wheels`) the build runs with no network (podman, buildah).
    """
    if wheelhouse is not None:
        if backend == "docker":
            raise ImageError("Offline builds mount the wheelhouse: use BACKEND=podman or buildah.")
        if not any(wheelhouse.glob("*.whl")):
            raise ImageError(f"No wheels in {wheelhouse}: run `make wheelhouse` first.")
    check_tool(backend)
    local_base = has_image(backend, LOCAL_BASE_IMAGE)
    if not local_base:
        print(
            f"note: {LOCAL_BASE_IMAGE} is not in {engine(backend)}'s store, so the build "
            f"pulls {base_image()}; `make base-image BACKEND={backend}` builds a base here "
            "without a registry.",
            file=sys.stderr,
        )
    bento_tag = build_bento(model_name)
    name, version = bento_tag.split(":")
    labels = model_labels(bento_tag)
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "containerize",
        bento_tag,
        "--backend",
        backend,
        "--image-tag",
        f"{name}:{version}",
        "--image-tag",
        f"{name}:latest",
    ]
    for key, value in labels.items():
        command += ["--opt", f"label={key}={value}"]
    if local_base:
        command += ["--opt", f"build-arg=BASE_IMAGE={LOCAL_BASE_IMAGE}"]
    if wheelhouse is not None:
        command += offline_options(wheelhouse)
    # BentoML 1.4.40 refuses a Dockerfile template outside the working directory, and it
    # renders ours in a temporary folder: build from the temporary directory.
    run(command, cwd=tempfile.gettempdir())
    record = {
        "image": f"{name}:{version}",
        "backend": backend,
        "bento": bento_tag,
        "model": labels["ai.iris-mlops.bentoml-model"],
        "model_version": labels["ai.iris-mlops.zenml-model-version"],
        "size_mb": image_size_mb(backend, f"{name}:{version}"),
        "offline": str(wheelhouse is not None).lower(),
    }
    write_record(record)
    return record


def image_size_mb(backend: str, reference: str) -> str:
    """As the engine reports it (uncompressed); '?' where only buildah is installed."""
    tool = engine(backend)
    if shutil.which(tool) is None:
        return "?"
    result = run([tool, "image", "inspect", "--format", "{{.Size}}", reference])
    return f"{int(result.stdout.strip()) / 1e6:.0f}"


def build_dir() -> Path:
    return Path(os.environ.get("IRIS_BUILD_DIR", PROJECT_ROOT / "build"))


def write_record(record: dict[str, str]) -> None:
    build_dir().mkdir(parents=True, exist_ok=True)
    (build_dir() / "image.json").write_text(json.dumps(record, indent=2) + "\n")


def read_record() -> dict[str, str]:
    path = build_dir() / "image.json"
    if not path.is_file():
        raise ImageError("No image built yet: run `make containerize` first.")
    return json.loads(path.read_text())


def run_command(backend: str, image: str, host: str, port: int, env: dict[str, str]) -> list[str]:
    """The foreground `run` that `make run-image` execs: Ctrl-C stops and removes it.

    Published on HOST (loopback unless asked); inside, the server listens on every
    interface of the container's own network (BENTOML_HOST in Dockerfile.template)."""
    command = [engine(backend), "run", "--rm", "--name", "iris-classifier"]
    command += ["--publish", f"{host}:{port}:{CONTAINER_PORT}"]
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    if "SERVING_API_TOKEN" in os.environ and "SERVING_API_TOKEN" not in env:
        command += ["--env", "SERVING_API_TOKEN"]  # by name: the value is read from here
    return [*command, image]


def push(backend: str, image: str, registry: str, tls_verify: bool = True) -> str:
    """Tag `image` under `registry` (host:port/path), push it; returns name:tag@digest."""
    tool = engine(backend)
    check_tool(tool)
    target = f"{registry.rstrip('/')}/{image}"
    run([tool, "tag", image, target])
    with tempfile.TemporaryDirectory() as folder:
        command = [tool, "push"]
        if tool == "podman":
            digest_file = Path(folder) / "digest"
            command += [f"--tls-verify={str(tls_verify).lower()}", "--digestfile", str(digest_file)]
            run([*command, target])
            digest = digest_file.read_text().strip()
        else:
            output = run([*command, target]).stdout
            digest = next(w for w in output.split() if w.startswith("sha256:"))
    reference = f"{target}@{digest}"
    write_record({**read_record(), "pushed": reference})
    return reference


def exec_run(backend: str, image: str, host: str, port: int, env: dict[str, str]) -> None:
    """Replace this process with the container run, so signals reach the container."""
    check_tool(engine(backend))
    command = run_command(backend, image, host, port, env)
    os.execvp(command[0], command)


def exec_serve(model_name: str, host: str, port: int) -> None:
    """Replace this process with `bentoml serve` of the service, told which model to load.

    Run from service/, where bentofile.yaml is; `--arg model=NAME` names the model.
    """
    os.chdir(SERVICE_DIR)
    command = [sys.executable, "-m", "bentoml", "serve", "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*command, "--arg", f"model={model_name}"])


def run_registry(port: int) -> None:
    """Debian's `docker-registry` on 127.0.0.1:PORT in the foreground, storing in a temporary
    folder (its images are lost when it stops); returns when it ends. Ctrl-C or SIGTERM stop
    it too, the folder removed, with exit status 128 + the signal (stack/foreground.py)."""
    from stack.foreground import ForwardedSignals

    with tempfile.TemporaryDirectory() as folder, ForwardedSignals() as signals:
        config = Path(folder) / "config.yml"
        config.write_text(registry_config(Path(folder) / "storage", port))
        try:
            signals.watch(subprocess.Popen(["docker-registry", "serve", str(config)]))
        except FileNotFoundError:
            raise ImageError("apt-get install docker-registry") from None
        signals.wait()


def registry_config(storage: Path, port: int) -> str:
    """A config for Debian's `docker-registry` (distribution): plain HTTP on loopback."""
    return yaml.safe_dump(
        {
            "version": 0.1,
            "storage": {"filesystem": {"rootdirectory": str(storage)}},
            "http": {"addr": f"127.0.0.1:{port}"},
            "log": {"level": "warn"},
        }
    )
