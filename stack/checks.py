"""What a container stack needs from this machine, asked before anything is registered.

Each check is one short question (a ZenML store type, a Docker API version, a kubeconfig
read, one HTTP request) so that a wrong setting is refused at switch time with the fix,
instead of failing at the next run with a traceback. `cluster_failure` words the one failure
no check can foresee: the cluster not taking a run.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 3
SERVER_DOCS = "https://docs.zenml.io/deploying-zenml/deploying-zenml"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


class StackUnavailable(Exception):
    """Something a stack needs does not answer; the message says what to start or set."""


def check_zenml_server(stack: str, then: str = "switch again") -> None:
    """Steps outside the client process reach ZenML through a server, never the SQLite file.

    ZenML 0.98 itself refuses remote orchestrators on the embedded store, but only when a
    run starts.
    """
    from zenml.client import Client
    from zenml.enums import StoreType

    store = Client().zen_store
    if store.type == StoreType.REST and stack == "kubernetes" and store.is_local_store():
        raise StackUnavailable(
            f"The kubernetes stack needs a ZenML server that counts as remote; {store.url} "
            "is the local one (`make dashboard`, `zenml login --local`), which ZenML refuses "
            "for remote orchestrators when a run starts. Start `make zenml-server` and connect "
            "to it as it prints (or `zenml login <url>` to your deployed server), then "
            f"{then}."
        )
    if store.type == StoreType.REST:
        return
    if stack == "kubernetes":
        how = (
            "connect to a ZenML server the cluster's pods can reach with `zenml login <url>` "
            f"(deploying one: {SERVER_DOCS}); `make zenml-server` starts one on this "
            "machine's loopback, to try the path here"
        )
    else:
        how = (
            "start the local one with `make dashboard` (`zenml login --local`), or connect "
            "to yours with `zenml login <url>`"
        )
    raise StackUnavailable(
        f"The {stack} stack runs steps outside this process, and they reach ZenML through a "
        f"ZenML server; this client uses the embedded SQLite store. To fix: {how}, then "
        f"{then}."
    )


def docker_host() -> str:
    """Where the Docker SDK looks, as a user would write it."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST unset)"


def check_docker_api() -> None:
    """ZenML's local image builder and `local_docker` talk to a Docker API (DOCKER_HOST)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=TIMEOUT_SECONDS)
        try:
            client.version()
        finally:
            client.close()
    except (DockerException, OSError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise StackUnavailable(
            f"No Docker API answers at {docker_host()} ({reason}). Start podman's "
            "Docker-compatible socket with `make podman-socket` and export the DOCKER_HOST it "
            "prints, or start a Docker engine, then switch again."
        ) from None


def kubeconfig_path() -> str:
    """KUBECONFIG (one path or several, `:`-separated) or kubectl's default."""
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def check_kube_context(context: str) -> None:
    """The orchestrator's context must exist in the kubeconfig (KUBECONFIG honoured)."""
    from kubernetes.config import ConfigException, list_kube_config_contexts

    try:
        # Named explicitly: the client reads KUBECONFIG once, when it is first imported.
        contexts, _active = list_kube_config_contexts(config_file=kubeconfig_path())
    except (ConfigException, OSError) as error:
        raise StackUnavailable(
            f"No kubeconfig could be read at {kubeconfig_path()} ({error}): get one for your "
            "cluster (or set KUBECONFIG), then switch again."
        ) from None
    names = [item["name"] for item in contexts or []]
    if context not in names:
        known = ", ".join(names) or "none"
        raise StackUnavailable(
            f"The kubeconfig context '{context}' is not in {kubeconfig_path()} (contexts "
            f"there: {known}). Set IRIS_K8S_CONTEXT to one of them "
            "(`kubectl config get-contexts`), then switch again."
        )


def cluster_failure(error: BaseException) -> str | None:
    """One line for a run the cluster never took, or None for any other error (or stack)."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    orchestrator = Client().active_stack_model.components.get(StackComponentType.ORCHESTRATOR)
    if not orchestrator or orchestrator[0].flavor_name != "kubernetes":
        return None
    return cluster_message(error, orchestrator[0].configuration.get("kubernetes_context"))


def cluster_message(error: BaseException, context: str | None) -> str | None:
    """ZenML's Kubernetes orchestrator lets the client's errors through: urllib3's
    MaxRetryError when the API server does not answer, the client's ApiException when it
    refuses (credentials, RBAC, a namespace that is not there)."""
    after = (
        f"The step image was built and pushed; no step ran. Check the cluster with "
        f"`kubectl --context {context} get namespaces`, then run again."
    )
    kind = type(error).__name__
    if kind == "MaxRetryError":
        pool = getattr(error, "pool", None)
        where = f" at https://{pool.host}:{pool.port}" if pool else ""
        reason = str(getattr(error, "reason", None) or error).split(": ", 1)[-1]
        return f"the Kubernetes API{where} (context '{context}') did not answer: {reason}. {after}"
    if kind == "ApiException":
        status, reason = getattr(error, "status", "?"), getattr(error, "reason", "")
        refused = f"refused the run: {status} {reason}"
        return f"the Kubernetes API (context '{context}') {refused}. {after}"
    return None


def is_loopback(uri: str) -> bool:
    host = uri.split("://", 1)[-1].split("/", 1)[0]
    return (urlsplit(f"//{host}").hostname or host) in LOOPBACK_HOSTS


def registry_v2_url(uri: str, insecure: bool = False) -> str:
    """The registry's API root for an image URI such as `host:5000/team/iris`.

    Plain HTTP for loopback registries (as Docker and podman treat them) or when asked.
    """
    host = uri.split("://", 1)[-1].split("/", 1)[0]
    scheme = "http" if insecure or is_loopback(uri) else "https"
    return f"{scheme}://{host}/v2/"


def check_registry(uri: str, insecure: bool = False) -> None:
    """The registry answers its API root: 200, or 401 (it wants a login, which pushes do)."""
    url = registry_v2_url(uri, insecure)
    # A loopback registry is asked directly, never through a proxy of the environment.
    handlers = [urllib.request.ProxyHandler({})] if is_loopback(uri) else []
    try:
        urllib.request.build_opener(*handlers).open(url, timeout=TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return
        raise StackUnavailable(
            f"The container registry at {url} answered {error.code}, not a registry's 200 or "
            "401: check the registry URI, then switch again."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        hint = (
            "" if url.startswith("http:") else " (plain HTTP: set the registry's insecure option)"
        )
        raise StackUnavailable(
            f"The container registry at {url} is unreachable ({reason}){hint}: start it or "
            "fix the registry URI, then switch again."
        ) from None
