"""Register a stack recipe if needed and make it active, idempotently, with ZenML's Client.

Each function returns what it changed (empty when nothing), so running a switch twice
visibly changes nothing the second time. Secret values are compared and stored, never
returned or printed.
"""

from __future__ import annotations

from typing import Any

from stack.recipes import (
    DEFAULT_STACK,
    RECIPES,
    SECRET_KEYS,
    SECRET_NAME,
    Component,
    Recipe,
    docker_recipe,
    kubernetes_recipe,
    s3_recipe,
    zenml_stack_name,
)
from stack.s3 import check_bucket
from stack.settings import (
    StackSettingsError,
    docker_settings,
    kubernetes_settings,
    s3_credentials,
    s3_settings,
)


def _client():
    from zenml.client import Client

    return Client()


def stored_secret_values() -> dict[str, str]:
    """The credentials in the ZenML secret, or {} when there is none."""
    try:
        return dict(_client().get_secret(SECRET_NAME, allow_partial_name_match=False).secret_values)
    except KeyError:
        return {}


def ensure_secret(values: dict[str, str]) -> list[str]:
    """Store the credentials in the ZenML secret (created, updated, or left as it is)."""
    client = _client()
    current = stored_secret_values()
    if not values or values == current:
        return []
    if not current and not _secret_exists():
        client.create_secret(SECRET_NAME, values)
        return [f"created secret '{SECRET_NAME}' (values hidden)"]
    stale = [key for key in current if key not in values]
    client.update_secret(SECRET_NAME, add_or_update_values=values, remove_values=stale or None)
    return [f"updated secret '{SECRET_NAME}' (values hidden)"]


def _secret_exists() -> bool:
    try:
        _client().get_secret(SECRET_NAME, allow_partial_name_match=False)
        return True
    except KeyError:
        return False


def ensure_component(component: Component) -> list[str]:
    from zenml.enums import StackComponentType

    client = _client()
    kind = StackComponentType(component.type)
    label = f"{component.type.replace('_', ' ')} '{component.name}'"
    try:
        existing = client.get_stack_component(kind, component.name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack_component(
            component.name, component.flavor, kind, component.configuration
        )
        return [f"registered {label} ({component.flavor})"]
    if existing.flavor_name != component.flavor:
        raise StackSettingsError(
            f"A {label} already exists with flavor '{existing.flavor_name}', not "
            f"'{component.flavor}': rename or delete it (`zenml {component.type.replace('_', '-')} "
            f"delete {component.name}`) and try again."
        )
    wanted = component.configuration
    current = existing.configuration
    changes: dict[str, Any] = {k: v for k, v in wanted.items() if current.get(k) != v}
    changes |= {k: None for k in current if k not in wanted}
    if not changes:
        return []
    client.update_stack_component(component.name, kind, configuration=changes)
    return [f"updated {label}: {', '.join(sorted(changes))}"]


def ensure_stack(recipe: Recipe) -> list[str]:
    from zenml.enums import StackComponentType

    client = _client()
    wanted = {StackComponentType(c.type): c.name for c in recipe.components}
    try:
        existing = client.get_stack(recipe.stack_name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(recipe.stack_name, components=wanted)
        return [f"registered stack '{recipe.stack_name}'"]
    current = {kind: parts[0].name for kind, parts in existing.components.items() if parts}
    if current == wanted:
        return []
    updates: dict = dict(wanted)
    updates |= {kind: [] for kind in current if kind not in wanted}
    client.update_stack(recipe.stack_name, component_updates=updates)
    return [f"updated stack '{recipe.stack_name}' components"]


def activate(stack_name: str) -> list[str]:
    client = _client()
    if client.active_stack_model.name == stack_name:
        return []
    client.activate_stack(stack_name)
    return [f"activated stack '{stack_name}'"]


def build_recipe(name: str) -> Recipe:
    """The recipe with this machine's settings.

    Checks the settings, the optional packages, and everything the stack talks to (ZenML
    server, Docker API, kubeconfig context, registry, S3 bucket) before anything is
    registered, so a mistake leaves the ZenML store as it was.
    """
    from stack import checks

    s3 = s3_settings()
    local = docker_settings() if name == "docker" else None
    cluster = kubernetes_settings() if name == "kubernetes" else None
    if cluster is not None:
        require_kubernetes_client()
    if name in ("docker", "kubernetes"):
        checks.check_zenml_server(name)
        checks.check_docker_api()
    if cluster is not None:
        checks.check_kube_context(cluster.context)
        checks.check_registry(cluster.registry_uri, cluster.registry_insecure)
    if local is not None and local.registry_uri:
        checks.check_registry(local.registry_uri, local.registry_insecure)
    credentials = s3_credentials() or stored_secret_values()
    check_bucket(s3, credentials)
    keys = tuple(key for key in SECRET_KEYS if key in credentials)
    if local is not None:
        return docker_recipe(local, s3, keys)
    if cluster is not None:
        return kubernetes_recipe(cluster, s3, keys)
    return s3_recipe(s3, keys)


def require_kubernetes_client() -> None:
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise StackSettingsError(
            "The kubernetes stack needs the Kubernetes client, which is not installed: "
            "run `make install-kubernetes` (or `uv sync --group kubernetes`), then try again."
        ) from None


def switch(name: str) -> list[str]:
    """Make recipe `name` the active stack, registering what is missing; returns the changes."""
    if name not in RECIPES:
        raise StackSettingsError(f"Unknown stack '{name}': choose one of {', '.join(RECIPES)}.")
    if name == "local":
        return activate(DEFAULT_STACK)
    recipe = build_recipe(name)
    changes = ensure_secret(s3_credentials())
    for component in recipe.components:
        changes += ensure_component(component)
    changes += ensure_stack(recipe)
    return changes + activate(zenml_stack_name(name))


def production_out_of_reach(name: str, model_name: str) -> str | None:
    """Why `name`'s runs cannot compare with production, when they cannot; else None.

    The docker and kubernetes stacks run the promotion step in a container, which cannot
    read a local artifact store (the client's disk): production kept there cannot be
    loaded, so the first run on that stack is never promoted automatically.
    """
    from zenml.enums import ModelStages, StackComponentType

    if name not in ("docker", "kubernetes"):
        return None
    client = _client()
    try:
        production = client.get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None
    artifact = production.get_artifact("classifier")
    if artifact is None or artifact.artifact_store_id is None:
        return None
    try:
        store = client.get_stack_component(
            StackComponentType.ARTIFACT_STORE, artifact.artifact_store_id
        )
    except KeyError:
        return None
    if store.flavor_name != "local":
        return None
    return (
        f"Production ({model_name} version {production.number}) is in the local artifact "
        f"store ({store.configuration.get('path', '')}), which the {name} stack's step "
        "containers cannot read: the first run there cannot be compared with it and will "
        "not be promoted. To make the two comparable, promote that run's version by hand "
        "(`python run.py promote N`, N as its summary says); later runs compare with it."
    )


def describe_active() -> list[str]:
    """The active stack and its components, as lines (secret references, never values)."""
    model = _client().active_stack_model
    recipe = "local" if model.name == DEFAULT_STACK else model.name
    aka = f" (ZenML stack '{model.name}')" if recipe != model.name else ""
    lines = [f"Active stack: {recipe}{aka}"]
    for kind, parts in sorted(model.components.items(), key=lambda item: item[0].value):
        for part in parts:
            where = part.configuration.get("path") or part.configuration.get("uri") or ""
            endpoint = (part.configuration.get("client_kwargs") or {}).get("endpoint_url")
            detail = " ".join(x for x in (where, f"via {endpoint}" if endpoint else "") if x)
            lines.append(f"  {kind.value:<20} {part.name} ({part.flavor_name}) {detail}".rstrip())
    return lines
