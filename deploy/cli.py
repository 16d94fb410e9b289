"""The `image` and `deploy` commands of run.py (the Makefile's containerize, run-image,
push-image, registry and deploy targets)."""

from __future__ import annotations

from pathlib import Path

import click

from deploy.containers import BACKENDS, ImageError, build_dir, engine
from pipelines.command_line import fail, model_from, model_option

backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="docker",
    show_default=True,
    help="Container tool (buildah builds; its images run and push with podman).",
)

# run and push: the tool that built the image (build/image.json) unless one is named.
built_backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    help="Container tool [default: the one that built the image, from build/image.json].",
)


@click.group("image")
def image_command() -> None:
    """Build, run and push the service's container image."""


@image_command.command("wheels")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def wheels_command(folder: Path) -> None:
    """Download the image's packages as wheels into FOLDER, for `build --wheelhouse`."""
    from deploy.containers import download_wheels

    try:
        count = download_wheels(folder)
    except ImageError as error:
        fail(f"Wheels not downloaded: {error}")
    click.echo(f"{count} wheels in {folder}: `make containerize OFFLINE=1` builds from them")


@image_command.command("build")
@backend_option
@click.option(
    "--wheelhouse",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build with no network, installing from these wheels (podman, buildah).",
)
@model_option
def build_command(backend: str, wheelhouse: Path | None, model_name: str | None) -> None:
    """Bento of the --config's production model, then `bentoml containerize` it."""
    from deploy.containers import containerize

    model_name = model_from(click.get_current_context(), model_name)

    how = "with no network" if wheelhouse else "(about a minute)"
    click.echo(f"Building the bento, then its image with {backend} {how}...")
    try:
        record = containerize(backend, model_name, wheelhouse)
    except ImageError as error:
        fail(f"Image not built: {error}")
    click.echo(
        f"Built {record['image']} ({record['size_mb']} MB) with {backend}: bento "
        f"{record['bento']}, model {record['model']} (version {record['model_version']}).\n"
        "Run it with `make run-image`; push it with `make push-image REGISTRY=host:port/path`."
    )


def key_values(_context: click.Context, _param: click.Parameter, items: tuple[str, ...]) -> dict:
    if bad := [item for item in items if "=" not in item]:
        raise click.BadParameter(f"expected KEY=VALUE, got {', '.join(bad)}")
    return dict(item.split("=", 1) for item in items)


@image_command.command("run")
@built_backend_option
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Host address to publish the port on (0.0.0.0: every interface).",
)
@click.option(
    "--env",
    "-e",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    callback=key_values,
    help="A service setting, e.g. SERVING_WORKERS=2.",
)
def run_command(backend: str | None, port: int, host: str, settings: dict[str, str]) -> None:
    """Run the newest built image in the foreground, on HOST:PORT (Ctrl-C stops and removes
    it). SERVING_API_TOKEN, when set here, is passed on by name: its value stays out of the
    image and of the command line."""
    from deploy.containers import exec_run, read_record

    try:
        record = read_record()
        backend = backend or record["backend"]
        click.echo(
            f"Serving {record['image']} with {engine(backend)} on http://{host}:{port} "
            "(Ctrl-C stops it)"
        )
        exec_run(backend, record["image"], host, port, settings)
    except ImageError as error:
        fail(f"Image not run: {error}")


@image_command.command("push")
@click.argument("registry")
@built_backend_option
@click.option("--tls-verify/--no-tls-verify", default=True, help="Off for a plain-HTTP registry.")
def push_command(registry: str, backend: str | None, tls_verify: bool) -> None:
    """Tag the newest built image under REGISTRY (host:port/path) and push it."""
    from deploy.containers import push, read_record

    try:
        record = read_record()
        reference = push(backend or record["backend"], record["image"], registry, tls_verify)
    except ImageError as error:
        fail(f"Image not pushed: {error}")
    click.echo(f"Pushed {reference}")


@image_command.command("registry")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def registry_command(port: int) -> None:
    """A throwaway local registry (Debian's docker-registry) on 127.0.0.1:PORT, to try pushes."""
    from deploy.containers import run_registry

    click.echo(f"Registry on 127.0.0.1:{port} (Ctrl-C stops it; its images are then lost)")
    try:
        run_registry(port)
    except ImageError as error:
        fail(f"Registry not started: {error}")


@click.command("deploy")
@click.option("--image", help="Image reference [default: the pushed image, pinned by digest].")
@click.option("--namespace", help="Kubernetes namespace [default: kubectl's current one].")
@click.option("--min-replicas", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--max-replicas", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--dry-run", is_flag=True, help="Only write the manifests.")
def deploy_command(
    image: str | None, namespace: str | None, min_replicas: int, max_replicas: int, dry_run: bool
) -> None:
    """Write Kubernetes manifests for the image and apply them with kubectl."""
    from deploy.containers import read_record
    from deploy.k8s_manifests import DeployError, apply, manifests, write_manifests

    try:
        record = read_record()
    except ImageError as error:
        fail(f"Not deployed: {error}")
    image = image or record.get("pushed")
    if not image:
        fail("Not deployed: push the image first: make push-image REGISTRY=...")
    if max_replicas < min_replicas:
        fail("Not deployed: --max-replicas is below --min-replicas")
    documents = manifests(image, record.get("model_version", ""), min_replicas, max_replicas)
    path = write_manifests(documents, build_dir() / "kubernetes" / "iris-classifier.yaml")
    click.echo(f"Wrote {path} for {image}")
    if dry_run:
        return
    try:
        click.echo(apply(path, namespace))
    except DeployError as error:
        fail(f"Not deployed: {error}")
