"""deploy/infra.yaml through deploy/infra.py, against a moto server on loopback (never AWS).

Moto's CloudFormation creates the bucket (with its encryption and tags), both ECR
repositories, the role and its inline policy. It ignores the bucket's versioning, public
access block, ownership controls and lifecycle rules, the repositories' scanning and
encryption settings, and AWS::S3::BucketPolicy altogether: those are checked in the template
itself, and cfn-lint checks the template against CloudFormation's own schemas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from click.testing import CliRunner

from deploy import infra
from stack import settings as stack_settings
from stack.s3 import check_bucket
from stack.s3_server import LOCAL_CREDENTIALS, moto_server_command, wait_until_up
from tests.helpers import REPO, free_port

pytestmark = pytest.mark.slow

REGION = "us-east-1"
PROJECT = "infra-test"
OUTPUT_KEYS = {
    "BucketName",
    "ArtifactPath",
    "DvcRemoteUrl",
    "Region",
    "RegistryUri",
    "StepsRepositoryName",
    "StepsRepositoryUri",
    "ServiceRepositoryUri",
    "PushRegistry",
    "RoleArn",
}


@pytest.fixture(scope="module")
def endpoint():
    """A moto server on a free loopback port, for this module only."""
    port = free_port()
    process = subprocess.Popen(
        moto_server_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Placeholder credentials, no AWS config files, no settings from the user's shell."""
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    tables = (
        stack_settings.S3_VARIABLES,
        stack_settings.KUBERNETES_VARIABLES,
        stack_settings.STEP_IMAGE_VARIABLES,
    )
    for table in tables:
        for name in table.values():
            if name != "AWS_DEFAULT_REGION":
                monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(stack_settings.SETTINGS_FILE_VARIABLE, str(tmp_path / "settings.yaml"))


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def test_the_stack_is_created_updated_idempotently_and_deleted(endpoint: str) -> None:
    cfn = infra.cloudformation(endpoint)
    stack_name = "infra-lifecycle"
    values = infra.parameters(PROJECT)

    action, outputs = infra.deploy(cfn, stack_name, values, delay=0.2)

    assert action == "created"
    assert set(outputs) == OUTPUT_KEYS
    bucket = outputs["BucketName"]
    assert bucket == f"{PROJECT}-123456789012-{REGION}"  # moto's account
    assert outputs["ArtifactPath"] == f"s3://{bucket}/zenml"
    assert outputs["DvcRemoteUrl"] == f"s3://{bucket}/dvc"
    assert outputs["Region"] == REGION
    registry = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
    assert outputs["RegistryUri"] == registry
    assert outputs["StepsRepositoryName"] == f"{PROJECT}-steps"
    assert outputs["StepsRepositoryUri"] == f"{registry}/{PROJECT}-steps"
    assert outputs["ServiceRepositoryUri"] == f"{registry}/{PROJECT}/iris_classifier_service"
    assert outputs["PushRegistry"] == f"{registry}/{PROJECT}"
    assert outputs["RoleArn"].startswith(f"arn:aws:iam::123456789012:role/{stack_name}-")

    # The bucket, as far as moto applies the template's properties.
    s3 = client("s3", endpoint)
    s3.head_bucket(Bucket=bucket)
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert {"Key": "project", "Value": PROJECT} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]

    # The repositories.
    ecr = client("ecr", endpoint)
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    steps, service = f"{PROJECT}-steps", f"{PROJECT}/iris_classifier_service"
    assert {steps, service} <= repositories.keys()
    assert repositories[steps]["repositoryUri"] == outputs["StepsRepositoryUri"]
    assert repositories[service]["repositoryUri"] == outputs["ServiceRepositoryUri"]

    # The role, whom it trusts, and its policy: this bucket's prefixes, these repositories.
    iam = client("iam", endpoint)
    role_name = outputs["RoleArn"].rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["MaxSessionDuration"] == 43200
    trust = role["AssumeRolePolicyDocument"]
    principals = [s["Principal"] for s in trust["Statement"]]
    assert {"AWS": "arn:aws:iam::123456789012:root"} in principals
    assert {"Service": "pods.eks.amazonaws.com"} in principals
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert policy_name == f"{PROJECT}-bucket-and-images"
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    bucket_arn = f"arn:aws:s3:::{bucket}"
    assert by_sid["FindTheBucket"]["Resource"] == bucket_arn
    assert sorted(by_sid["ArtifactsAndDvcData"]["Resource"]) == [
        f"{bucket_arn}/dvc/*",
        f"{bucket_arn}/zenml/*",
    ]
    assert "s3:PutObject" in by_sid["ArtifactsAndDvcData"]["Action"]
    assert by_sid["RegistryLogin"] == {
        "Sid": "RegistryLogin",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    }
    assert sorted(by_sid["PushAndPullImages"]["Resource"]) == sorted(
        repositories[name]["repositoryArn"] for name in (steps, service)
    )
    s3_resources = [
        r
        for st in document["Statement"]
        for r in _as_list(st["Resource"])
        if r.startswith("arn:aws:s3")
    ]
    assert all(r == bucket_arn or r.startswith(f"{bucket_arn}/") for r in s3_resources)

    # Again: an update to the same template, no error, the same outputs (moto answers an
    # update where AWS says "No updates are to be performed"; both are fine).
    again, same = infra.deploy(cfn, stack_name, values, delay=0.2)
    assert again in {"updated", "unchanged"}
    assert same == outputs
    assert infra.outputs(cfn, stack_name) == outputs

    # Deleted: the stack and every resource.
    assert infra.destroy(cfn, stack_name, delay=0.2) is True
    assert infra.describe(cfn, stack_name) is None
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    left = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    assert not {steps, service} & left
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=role_name)
    assert infra.destroy(cfn, stack_name, delay=0.2) is False  # nothing left: not an error
    with pytest.raises(infra.InfraError, match="make create-infra"):
        infra.outputs(cfn, stack_name)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_commands_write_the_settings_the_s3_stack_reads(endpoint: str, tmp_path: Path):
    settings_path = tmp_path / "settings.yaml"  # IRIS_STACK_SETTINGS (the aws_env fixture)
    # A user's file: its other settings stay, a stale endpoint is replaced.
    settings_path.write_text(
        "# my settings\n"
        "s3:\n  bucket: old-bucket\n  endpoint_url: http://127.0.0.1:1\n"
        "kubernetes:\n  context: my-cluster\n  namespace: ml\n"
    )
    runner = CliRunner()
    common = ["--endpoint-url", endpoint, "--stack-name", "infra-commands"]

    created = runner.invoke(infra.main, ["create", *common, "--project", PROJECT])

    assert created.exit_code == 0, created.output
    assert "Stack infra-commands created." in created.output
    assert f"into {settings_path}; the previous file is settings.yaml.bak" in created.output
    assert "make dvc-remote-s3" in created.output
    bucket = f"{PROJECT}-123456789012-{REGION}"
    s3 = stack_settings.s3_settings()  # the loader the s3 stack uses, on the written file
    assert (s3.bucket, s3.endpoint_url, s3.region) == (bucket, endpoint, REGION)
    assert s3.artifact_path == f"s3://{bucket}/zenml"
    kubernetes = stack_settings.kubernetes_settings()
    assert kubernetes.registry_uri == f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
    assert (kubernetes.context, kubernetes.namespace) == ("my-cluster", "ml")  # kept
    assert stack_settings.step_image_settings().repository == f"{PROJECT}-steps"
    backup = tmp_path / "settings.yaml.bak"
    assert backup.read_text().startswith("# my settings")
    # The s3 stack's own check, against the bucket the stack made.
    check_bucket(s3, stack_settings.s3_credentials())

    # Twice: nothing to write.
    again = runner.invoke(infra.main, ["create", *common, "--project", PROJECT])
    assert again.exit_code == 0, again.output
    assert "already holds these settings" in again.output

    # The same settings as environment variables, for `make dvc-remote-s3`.
    shown = runner.invoke(infra.main, ["outputs", *common, "--format", "env"])
    assert shown.exit_code == 0, shown.output
    assert f"export IRIS_S3_BUCKET={bucket}" in shown.output.splitlines()
    assert f"export IRIS_S3_ENDPOINT_URL={endpoint}" in shown.output.splitlines()
    text = runner.invoke(infra.main, ["outputs", *common])
    assert f"DvcRemoteUrl: s3://{bucket}/dvc" in text.output

    destroyed = runner.invoke(infra.main, ["destroy", *common])
    assert destroyed.exit_code == 0, destroyed.output
    assert "Stack infra-commands deleted." in destroyed.output
    gone = runner.invoke(infra.main, ["outputs", *common])
    assert gone.exit_code == 1 and "There is no stack infra-commands" in gone.output


def test_an_unreachable_endpoint_is_one_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.infra",
            "destroy",
            "--endpoint-url",
            f"http://127.0.0.1:{free_port()}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Error: Could not connect to the endpoint URL" in result.stderr
    assert "Traceback" not in result.stderr


# --- without a server ---------------------------------------------------------------------


class _NoChangeClient:
    """A CloudFormation client whose stack exists and whose update changes nothing."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe_stacks(self, StackName: str):
        self.calls.append("describe_stacks")
        return {
            "Stacks": [
                {
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": "BucketName", "OutputValue": "b"}],
                }
            ]
        }

    def update_stack(self, **request):
        self.calls.append("update_stack")
        error = {"Error": {"Code": "ValidationError", "Message": infra.NO_UPDATES}}
        raise ClientError(error, "UpdateStack")


def test_no_updates_to_perform_is_not_an_error() -> None:
    cfn = _NoChangeClient()
    assert infra.deploy(cfn, "s", infra.parameters()) == ("unchanged", {"BucketName": "b"})
    assert "update_stack" in cfn.calls


def test_merging_settings_keeps_other_keys_and_drops_the_endpoint_for_aws(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text("s3:\n  bucket: a\n  endpoint_url: http://127.0.0.1:9000\ndocker: {}\n")
    values = infra.settings_values({"BucketName": "b", "Region": "eu-west-1"}, None)

    assert infra.merge_settings(path, values) == ["s3.bucket", "s3.region", "s3.endpoint_url"]
    assert yaml.safe_load(path.read_text()) == {
        "s3": {"bucket": "b", "region": "eu-west-1"},
        "docker": {},
    }
    assert infra.merge_settings(path, values) == []
    assert infra.export_lines(values) == [
        "export IRIS_S3_BUCKET=b",
        "export AWS_DEFAULT_REGION=eu-west-1",
    ]


# --- the template itself ------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub ...) read as {"Fn": value}."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, tag, node: {
        tag: loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_mapping(node)
    },
)


def test_the_template_declares_what_moto_does_not_apply() -> None:
    template = yaml.load(infra.TEMPLATE.read_text(), Loader=_CfnLoader)
    resources = template["Resources"]
    bucket = resources["ArtifactBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    denied = resources["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert denied["Effect"] == "Deny" and denied["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    for name in ("StepsRepository", "ServiceRepository"):
        repository = resources[name]["Properties"]
        assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    assert set(template["Outputs"]) == OUTPUT_KEYS
    # Every output the settings need is one the template has.
    assert set(infra.SETTINGS_FROM_OUTPUTS) <= OUTPUT_KEYS


def test_cfn_lint_finds_nothing_in_the_template(tmp_path: Path) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(infra.TEMPLATE)
    assert not matches, "\n".join(str(m) for m in matches)  # errors, warnings and notes

    # The same call does find a mistake: a property the bucket does not have.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        infra.TEMPLATE.read_text().replace("VersioningConfiguration:", "Versioning:", 1)
    )
    assert any("Versioning" in str(m) for m in lint_file(broken))


def test_the_make_targets_call_the_module() -> None:
    def dry_run(*args: str) -> str:
        result = subprocess.run(
            ["make", "--no-print-directory", "-n", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1].strip()

    endpoint = "http://127.0.0.1:9000"
    assert dry_run("create-infra", f"INFRA_ENDPOINT={endpoint}", "INFRA_ARGS=--bucket b") == (
        f"python -m deploy.infra create --stack-name iris-mlops-infra --endpoint-url {endpoint}"
        " --bucket b"
    )
    assert dry_run("destroy-infra", "INFRA_STACK=x") == (
        "python -m deploy.infra destroy --stack-name x"
    )
