"""The project's AWS infrastructure as code: deploy/infra.yaml as a CloudFormation stack.

`make create-infra` / `make destroy-infra` call `python -m deploy.infra create|destroy`;
`outputs` prints what the stack made. After `create`, the outputs are merged into the stack
settings file (`stack/settings.yaml`, or the file IRIS_STACK_SETTINGS names) under the keys
stack/settings.py reads, so `make stack-s3` uses the new bucket with nothing copied by hand.
`--endpoint-url` points everything at another endpoint (moto in the tests).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

import click
import yaml

from stack.settings import (
    KUBERNETES_VARIABLES,
    S3_VARIABLES,
    STEP_IMAGE_VARIABLES,
    settings_file,
)

TEMPLATE = Path(__file__).with_name("infra.yaml")
DEFAULT_STACK_NAME = "iris-mlops-infra"
DEFAULT_PROJECT = "iris-mlops"
DEFAULT_REGION = "us-east-1"
# Creating the role needs this acknowledgement (its name is generated, so not NAMED_IAM).
CAPABILITIES = ["CAPABILITY_IAM"]
NO_UPDATES = "No updates are to be performed"
SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"}
# Output -> the stack setting (section, key) it becomes.
SETTINGS_FROM_OUTPUTS = {
    "BucketName": ("s3", "bucket"),
    "Region": ("s3", "region"),
    "RegistryUri": ("kubernetes", "registry_uri"),
    "StepsRepositoryName": ("step_image", "repository"),
}
# Section -> its settings' environment variables (stack/settings.py's tables).
SECTION_VARIABLES = {
    "s3": S3_VARIABLES,
    "kubernetes": KUBERNETES_VARIABLES,
    "step_image": STEP_IMAGE_VARIABLES,
}


class InfraError(Exception):
    """The stack could not be created, read or deleted; the message says why."""


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def cloudformation(endpoint_url: str | None = None):
    """A CloudFormation client for AWS_DEFAULT_REGION (or the endpoint given)."""
    import boto3

    return boto3.client("cloudformation", endpoint_url=endpoint_url, region_name=region())


def parameters(project: str = DEFAULT_PROJECT, bucket: str | None = None) -> dict[str, str]:
    values = {"ProjectName": project}
    if bucket:
        values["BucketName"] = bucket
    return values


def describe(cfn, stack_name: str) -> dict[str, Any] | None:
    """The stack, or None if there is none by that name (deleted ones do not count)."""
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def failure_reasons(cfn, stack_name: str) -> str:
    """What CloudFormation's events say went wrong, newest first."""
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except Exception:  # the events only explain; never hide the failure behind them
        return ""
    reasons = [
        f"{e['LogicalResourceId']}: {e['ResourceStatusReason']}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED") and e.get("ResourceStatusReason")
    ]
    return "; ".join(reasons[:5])


def wait(cfn, stack_name: str, delay: float = 5, timeout: float = 1800) -> str:
    """Poll until the stack's operation ends; its final status ("GONE" once deleted)."""
    deadline = time.monotonic() + timeout
    while True:
        stack = describe(cfn, stack_name)
        status = stack["StackStatus"] if stack else "GONE"
        if not status.endswith("_IN_PROGRESS"):
            return status
        if time.monotonic() > deadline:
            raise InfraError(f"Stack {stack_name} still {status} after {timeout:.0f} s.")
        time.sleep(delay)


def _check(cfn, stack_name: str, status: str, wanted: set[str]) -> None:
    if status not in wanted:
        reasons = failure_reasons(cfn, stack_name)
        raise InfraError(f"Stack {stack_name} ended {status}" + (f": {reasons}" if reasons else ""))


def deploy(
    cfn, stack_name: str, values: dict[str, str], delay: float = 5
) -> tuple[str, dict[str, str]]:
    """Create the stack, or update it to the template; idempotent.

    Returns what happened ("created", "updated", "unchanged") and the stack's outputs.
    """
    from botocore.exceptions import ClientError

    request = {
        "StackName": stack_name,
        "TemplateBody": TEMPLATE.read_text(),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        "Capabilities": CAPABILITIES,
    }
    stack = describe(cfn, stack_name)
    if stack and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        # A first creation that failed leaves a stack that can only be deleted.
        cfn.delete_stack(StackName=stack_name)
        _check(cfn, stack_name, wait(cfn, stack_name, delay), {"GONE", "DELETE_COMPLETE"})
        stack = None
    if stack is None:
        cfn.create_stack(**request, Tags=[{"Key": "project", "Value": values["ProjectName"]}])
        action, wanted = "created", {"CREATE_COMPLETE"}
    else:
        try:
            cfn.update_stack(**request)
        except ClientError as error:
            if NO_UPDATES not in str(error):
                raise
            return "unchanged", outputs(cfn, stack_name)
        action, wanted = "updated", {"UPDATE_COMPLETE"}
    _check(cfn, stack_name, wait(cfn, stack_name, delay), wanted)
    return action, outputs(cfn, stack_name)


def outputs(cfn, stack_name: str) -> dict[str, str]:
    stack = describe(cfn, stack_name)
    if stack is None:
        raise InfraError(f"There is no stack {stack_name}: `make create-infra` creates it.")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def destroy(cfn, stack_name: str, delay: float = 5) -> bool:
    """Delete the stack and wait; False if there was none."""
    if describe(cfn, stack_name) is None:
        return False
    cfn.delete_stack(StackName=stack_name)
    _check(cfn, stack_name, wait(cfn, stack_name, delay), {"GONE", "DELETE_COMPLETE"})
    return True


# --- the stack settings the outputs become ----------------------------------------------


def settings_values(stack_outputs: dict[str, str], endpoint_url: str | None) -> dict[str, dict]:
    """The stack settings (stack/settings.yaml's sections and keys) these outputs give.

    `s3.endpoint_url` is the endpoint the stack was made at (None: AWS itself, and the key
    is removed from the file)."""
    values: dict[str, dict] = {}
    for output, (section, key) in SETTINGS_FROM_OUTPUTS.items():
        if output in stack_outputs:
            values.setdefault(section, {})[key] = stack_outputs[output]
    values.setdefault("s3", {})["endpoint_url"] = endpoint_url.rstrip("/") if endpoint_url else None
    return values


def merge_settings(path: Path, values: dict[str, dict]) -> list[str]:
    """Write `values` into the settings file at `path`, keeping its other keys.

    Returns the keys that changed. A file that changes is first copied to PATH.bak (YAML
    comments are not kept in the rewritten file)."""
    text = path.read_text() if path.is_file() else ""
    try:
        content = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise InfraError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise InfraError(f"{path} is not a mapping of settings sections.")
    changed = []
    for section, keys in values.items():
        current = content.get(section) or {}
        if not isinstance(current, dict):
            raise InfraError(f"{path}: '{section}' must be a mapping of settings")
        for key, value in keys.items():
            if current.get(key) == value and (value is not None or key not in current):
                continue
            if value is None:
                if key not in current:
                    continue
                del current[key]
            else:
                current[key] = value
            changed.append(f"{section}.{key}")
        if current:
            content[section] = current
    if changed:
        if text:
            path.with_name(path.name + ".bak").write_text(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, sort_keys=False, default_flow_style=False))
    return changed


def overriding_variables(values: dict[str, dict]) -> list[str]:
    """Environment variables set in this shell that win over these settings in the file."""
    found = []
    for section, keys in values.items():
        for key, value in keys.items():
            variable = SECTION_VARIABLES.get(section, {}).get(key)
            current = os.environ.get(variable) if variable else None
            if current and current != value:
                found.append(variable)
    return found


def export_lines(values: dict[str, dict]) -> list[str]:
    """`export VARIABLE=value` lines for the same settings (for `make dvc-remote-s3`)."""
    lines = []
    for section, keys in values.items():
        for key, value in keys.items():
            variable = SECTION_VARIABLES.get(section, {}).get(key)
            if variable and value is not None:
                lines.append(f"export {variable}={shlex.quote(str(value))}")
    return lines


# --- the command ------------------------------------------------------------------------

endpoint_option = click.option(
    "--endpoint-url",
    help="CloudFormation (and S3) endpoint, such as a moto server [default: AWS itself].",
)
stack_option = click.option(
    "--stack-name", default=DEFAULT_STACK_NAME, show_default=True, help="The stack's name."
)


def _fail(error: Exception) -> None:
    click.secho(f"Error: {error}", fg="red", err=True)
    raise SystemExit(1)


def _client(endpoint_url: str | None):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return cloudformation(endpoint_url)
    except (BotoCoreError, ClientError) as error:
        _fail(error)


@click.group()
def main() -> None:
    """Create, read and delete the project's AWS infrastructure (deploy/infra.yaml)."""


@main.command("create")
@endpoint_option
@stack_option
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="Name prefix.")
@click.option("--bucket", help="The bucket's name [default: PROJECT-ACCOUNT-REGION].")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file the outputs go into [default: IRIS_STACK_SETTINGS, else "
    "stack/settings.yaml].",
)
@click.option("--no-settings", is_flag=True, help="Write no settings; print the outputs only.")
def create_command(
    endpoint_url: str | None,
    stack_name: str,
    project: str,
    bucket: str | None,
    settings_path: Path | None,
    no_settings: bool,
) -> None:
    """Create or update the stack, then write its outputs into the stack settings."""
    from botocore.exceptions import BotoCoreError, ClientError

    cfn = _client(endpoint_url)
    click.echo(f"Deploying {TEMPLATE.name} as stack {stack_name} in {region()} …")
    try:
        action, stack_outputs = deploy(cfn, stack_name, parameters(project, bucket))
    except (InfraError, BotoCoreError, ClientError) as error:
        _fail(error)
    click.echo(f"Stack {stack_name} {action}.")
    for key, value in stack_outputs.items():
        click.echo(f"  {key}: {value}")
    values = settings_values(stack_outputs, endpoint_url)
    if no_settings:
        return
    path = settings_path or settings_file()
    had_settings = path.is_file() and bool(path.read_text().strip())
    try:
        changed = merge_settings(path, values)
    except InfraError as error:
        _fail(error)
    if changed:
        kept = f"; the previous file is {path.name}.bak" if had_settings else ""
        click.echo(f"Wrote {', '.join(changed)} into {path}{kept}.")
    else:
        click.echo(f"{path} already holds these settings.")
    if path != settings_file():
        click.echo(f"Point the stacks at it: export IRIS_STACK_SETTINGS={shlex.quote(str(path))}")
    for variable in overriding_variables(values):
        click.secho(f"Note: {variable} is set in this shell and wins over the file.", fg="yellow")
    where = f"--stack-name {stack_name}" + (
        f" --endpoint-url {endpoint_url}" if endpoint_url else ""
    )
    click.echo("Next: make stack-s3; for DVC's s3 remote:")
    click.echo(
        f'  eval "$(python -m deploy.infra outputs {where} --format env)" && make dvc-remote-s3'
    )


@main.command("destroy")
@endpoint_option
@stack_option
def destroy_command(endpoint_url: str | None, stack_name: str) -> None:
    """Delete the stack and wait (the bucket must be empty; the images go with it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    cfn = _client(endpoint_url)
    try:
        deleted = destroy(cfn, stack_name)
    except (InfraError, BotoCoreError, ClientError) as error:
        _fail(error)
    click.echo(f"Stack {stack_name} deleted." if deleted else f"There is no stack {stack_name}.")


@main.command("outputs")
@endpoint_option
@stack_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "env"]),
    default="text",
    show_default=True,
    help="env: `export IRIS_…=` lines of the settings (eval them in a shell).",
)
def outputs_command(endpoint_url: str | None, stack_name: str, output_format: str) -> None:
    """Print the stack's outputs."""
    from botocore.exceptions import BotoCoreError, ClientError

    cfn = _client(endpoint_url)
    try:
        stack_outputs = outputs(cfn, stack_name)
    except (InfraError, BotoCoreError, ClientError) as error:
        _fail(error)
    if output_format == "env":
        lines = export_lines(settings_values(stack_outputs, endpoint_url))
    else:
        lines = [f"{key}: {value}" for key, value in stack_outputs.items()]
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
