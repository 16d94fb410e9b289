"""A local S3-compatible server (moto) on loopback, with the project's bucket created.

`make s3-server` runs it in the foreground; tests start their own on a free port. Moto keeps
objects in memory: they are gone when the server stops.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from pipelines.command_line import fail
from stack.foreground import ForwardedSignals
from stack.foreground import stop as stop_process

HOST = "127.0.0.1"
# Moto accepts any credentials; these are placeholders, not secrets.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def moto_server_command(port: int) -> list[str]:
    moto = Path(sys.executable).with_name("moto_server")
    executable = str(moto) if moto.exists() else shutil.which("moto_server") or "moto_server"
    return [executable, "-H", HOST, "-p", str(port)]


def wait_until_up(endpoint: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no S3 server answered at {endpoint}") from None
            time.sleep(0.2)


def create_bucket(endpoint: str, bucket: str, region: str = "us-east-1") -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


def start(port: int, bucket: str) -> subprocess.Popen:
    """A moto server on HOST:port with `bucket` in it; the caller stops it."""
    process = subprocess.Popen(
        moto_server_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://{HOST}:{port}"
    try:
        wait_until_up(endpoint)
        create_bucket(endpoint, bucket)
    except BaseException:  # a signal too (stack/foreground.py)
        stop_process(process)
        raise
    return process


@click.command()
@click.option("--port", type=int, default=9000, show_default=True, envvar="IRIS_S3_PORT")
@click.option("--bucket", default="iris-mlops", show_default=True, envvar="IRIS_S3_BUCKET")
def main(port: int, bucket: str) -> None:
    """Run a local S3 server until Ctrl+C or SIGTERM, and say how to point the project at it."""
    with ForwardedSignals() as signals:
        signals.watch(start(port, bucket))
        tell_how_to_use(port, bucket)
        status = signals.wait()
    if status:
        fail(f"Error: moto_server exited with {status}.")


def tell_how_to_use(port: int, bucket: str) -> None:
    endpoint = f"http://{HOST}:{port}"
    click.echo(f"S3 server (moto, in memory) at {endpoint} with bucket '{bucket}'.")
    click.echo("In another shell, to use it for the s3 stack and the DVC s3 remote:\n")
    click.echo(
        f"  export IRIS_S3_ENDPOINT_URL={endpoint} IRIS_S3_BUCKET={bucket} "
        + " ".join(f"{k}={v}" for k, v in LOCAL_CREDENTIALS.items())
    )
    click.echo("  make stack-s3 dvc-remote-s3\n\nCtrl+C stops the server (its objects are lost).")


if __name__ == "__main__":
    main()
