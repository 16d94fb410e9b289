"""`make bench-image`: the service image, ours against BentoML's default recipe, in one run.

Both start from the same local base image (`make base-image`) and install the same pinned
packages; the default recipe is our bento without the Dockerfile template, so BentoML adds
its usual apt-get of a compiler and git. Measured: build time and image size, plus our
offline build (wheelhouse, no network). Each build runs once (minutes each), in a podman
store of its own.
Writes benchmarks/RESULTS-image.md (BENCH_QUICK=1: benchmarks/results/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.measure import measure
from benchmarks.workspace import REPO, isolated_env, ours, run_config
from data.make_iris import write_iris
from deploy.containers import LOCAL_BASE_IMAGE

HERE = REPO / "benchmarks"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
MODEL = "bench_image"


def podman_store(work: Path) -> Path:
    conf = work / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{work / "graph"}"\n'
        f'runroot = "{work / "run"}"\n'
    )
    return conf


def size_mb(env: dict[str, str], reference: str) -> float:
    output = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", reference],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(output) / 1e6


def default_recipe_bento(work: Path, env: dict[str, str], log: Path) -> list[str]:
    """Our service folder with BentoML's default Dockerfile (no template); the build command."""
    folder = work / "default-recipe"
    shutil.copytree(REPO / "service", folder, ignore=shutil.ignore_patterns("__pycache__"))
    bentofile = yaml.safe_load((folder / "bentofile.yaml").read_text())
    del bentofile["docker"]["dockerfile_template"]
    bentofile["docker"]["base_image"] = LOCAL_BASE_IMAGE  # the base ours starts from
    bentofile["name"] = "default_recipe_service"
    (folder / "bentofile.yaml").write_text(yaml.safe_dump(bentofile))
    measure([sys.executable, "-m", "bentoml", "build"], cwd=folder, env=env, log=log)
    return [
        sys.executable,
        "-m",
        "bentoml",
        "containerize",
        "default_recipe_service:latest",
        "--backend",
        "podman",
        "--image-tag",
        "default_recipe_service:latest",
    ]


def image_measures(work: Path, log: Path) -> dict[str, dict[str, float]]:
    env = isolated_env(work)
    env.update(
        {
            "CONTAINERS_STORAGE_CONF": str(podman_store(work)),
            "IRIS_BUILD_DIR": str(work / "build"),
            "SERVING_MODEL": MODEL,
        }
    )
    data = work / "iris.csv"
    write_iris(data)
    print("Training the model the images serve (not timed)")
    measure(ours(run_config(REPO / "configs" / "training.yaml", work, data, MODEL)), work, env, log)

    results: dict[str, dict[str, float]] = {}
    print("Base image (debootstrap)")
    base = measure([str(REPO / "deploy" / "base_image.sh"), "podman"], REPO, env, log)
    results["base image"] = {"seconds": base.seconds, "mb": size_mb(env, LOCAL_BASE_IMAGE)}

    builds = {
        "ours": [
            sys.executable,
            "run.py",
            "image",
            "build",
            "--model",
            MODEL,
            "--backend",
            "podman",
        ],
        "BentoML default recipe": default_recipe_bento(work, env, log),
    }
    for name, command in builds.items():
        print(f"Image: {name}")
        cwd = REPO if name == "ours" else Path(tempfile.gettempdir())
        built = measure(command, cwd, env, log)
        reference = (
            json.loads((work / "build" / "image.json").read_text())["image"]
            if name == "ours"
            else "default_recipe_service:latest"
        )
        results[name] = {"seconds": built.seconds, "mb": size_mb(env, reference)}

    print("Image: ours, offline (wheelhouse, no network)")
    wheelhouse = work / "wheelhouse"
    image_command = [sys.executable, "run.py", "image"]
    download = measure([*image_command, "wheels", str(wheelhouse)], REPO, env, log)
    build = [*image_command, "build", "--model", MODEL, "--backend", "podman"]
    build += ["--wheelhouse", str(wheelhouse)]
    offline = measure(build, REPO, env, log)
    reference = json.loads((work / "build" / "image.json").read_text())["image"]
    results["ours, offline"] = {"seconds": offline.seconds, "mb": size_mb(env, reference)}
    results["wheel download"] = {"seconds": download.seconds, "mb": folder_mb(wheelhouse)}
    return results


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.iterdir()) / 1e6


def image_table(results: dict[str, dict[str, float]]) -> list[str]:
    default = results["BentoML default recipe"]
    lines = [
        "| build | time | size | time vs default recipe | size vs default recipe |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, figures in results.items():
        compared = name in ("ours", "ours, offline", "BentoML default recipe")
        time_ratio = f"{figures['seconds'] / default['seconds']:.2f}x" if compared else "-"
        size_ratio = f"{figures['mb'] / default['mb']:.2f}x" if compared else "-"
        lines.append(
            f"| {name} | {figures['seconds']:.0f} s | {figures['mb']:.0f} MB "
            f"| {time_ratio} | {size_ratio} |"
        )
    return lines


def cleanup(work: Path, env_conf: Path) -> None:
    env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(env_conf)}
    subprocess.run(["podman", "rmi", "--all", "--force"], env=env, capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    if shutil.which("podman") is None or shutil.which("debootstrap") is None:
        print("Image benchmark skipped: it needs podman and debootstrap (and root)")
        return
    started = time.time()
    output = HERE / "results"
    output.mkdir(exist_ok=True)
    log = output / "image-runs.log"
    log.write_text("")
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-bench-image-"))
    try:
        results = image_measures(work, log)
    finally:
        cleanup(work, work / "storage.conf")
    table = image_table(results)
    text = "\n".join(
        [
            "# Image benchmark",
            "",
            f"Written by `make bench-image` on {time.strftime('%Y-%m-%d %H:%M')}, in "
            f"{(time.time() - started) / 60:.0f} minutes, with podman on "
            f"{os.cpu_count()} cores (shared). One build of each, from empty caches of a "
            "podman store of its own, after building the base image (its own row); sizes "
            "as podman reports them (uncompressed). The default recipe is our bento without "
            "`dockerfile_template`, so BentoML's Dockerfile apt-installs `build-essential` "
            "and `git`; both install the same pinned packages from PyPI. The offline build "
            "installs from the downloaded wheelhouse with `--network none`.",
            "",
            *table,
            "",
        ]
    )
    target = output / "RESULTS-image-quick.md" if QUICK else HERE / "RESULTS-image.md"
    target.write_text(text)
    print("\n" + "\n".join(table) + f"\n\nWritten to {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
