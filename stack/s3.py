"""Is the S3 endpoint there, and may we use the bucket? Asked before anything is written.

Checked with one short request (no retries) so a stopped server fails a run in seconds,
before ZenML creates the run, instead of after minutes of client retries.
"""

from __future__ import annotations

from stack.settings import S3Settings

CONNECT_TIMEOUT_SECONDS = 3


class S3Unavailable(Exception):
    """The S3 endpoint or bucket cannot be used; the message names the endpoint."""


def check_bucket(settings: S3Settings, credentials: dict[str, str]) -> None:
    """Raise S3Unavailable unless the bucket answers at the endpoint with these credentials."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    client = boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=CONNECT_TIMEOUT_SECONDS * 2,
            retries={"total_max_attempts": 1},
        ),
        **credentials,
    )
    where = f"bucket '{settings.bucket}' at the S3 endpoint {settings.endpoint}"
    try:
        client.head_bucket(Bucket=settings.bucket)
    except NoCredentialsError:
        raise S3Unavailable(
            f"No AWS credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket"):
            problem = "does not exist (create it first)"
        elif code in ("403", "AccessDenied"):
            problem = "refused these credentials"
        else:
            problem = f"answered with error {code}"
        raise S3Unavailable(f"The {where} {problem}.") from None
    except BotoCoreError as error:
        raise S3Unavailable(
            f"The S3 endpoint {settings.endpoint} is unreachable ({type(error).__name__}); "
            f"is the server running (`make s3-server` for a local one)?"
        ) from None


def bound_retries(store) -> None:
    """One try per call at s3fs's level, in this process; botocore's own settings still apply.

    s3fs retries each call 5 times on a timeout (`S3FileSystem.retries`, used by
    `s3fs.core._error_wrapper`), on top of botocore's retries, and ZenML's S3 artifact
    store offers no setting for it: an S3 server that stops answering mid-run held a local
    run for about 7 minutes. Only ZenML's own subclass is changed (DVC's s3fs keeps its
    default). tests/stack/test_s3_faults.py fails if the attribute goes away.
    """
    filesystem_class = type(store.filesystem)
    if filesystem_class.__name__ == "ZenMLS3Filesystem":
        filesystem_class.retries = 1


def check_artifact_store(store) -> None:
    """Raise S3Unavailable unless this artifact store (a ZenML StackComponent) answers.

    Stores that are not S3 need no network and pass.
    """
    if store.flavor != "s3":
        return
    bound_retries(store)
    config = store.config  # secret references resolve here, through the ZenML store
    client_kwargs = config.client_kwargs or {}
    settings = S3Settings(
        bucket=config.bucket,
        endpoint_url=client_kwargs.get("endpoint_url"),
        region=client_kwargs.get("region_name") or "us-east-1",
    )
    credentials = {
        name: value
        for name, value in (
            ("aws_access_key_id", config.key),
            ("aws_secret_access_key", config.secret),
            ("aws_session_token", config.token),
        )
        if value
    }
    check_bucket(settings, credentials)


def check_active_artifact_store() -> None:
    """Before a run: when the active stack keeps artifacts in S3, is the bucket there?"""
    from zenml.client import Client

    check_artifact_store(Client().active_stack.artifact_store)
