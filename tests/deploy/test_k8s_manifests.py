"""The Kubernetes recipe: manifests valid for the API server's own schema, wired together,
and `python run.py deploy` writing them and saying what it did (no cluster runs here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from deploy.k8s_manifests import manifests, write_manifests
from tests.helpers import REPO, run_cli

IMAGE = "registry.example:5000/iris/iris_classifier_service:abc@sha256:" + "0" * 64
KUBERNETES_VERSIONS = ("1.30.0", "1.34.0", kubernetes_validate.latest_version())


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {document["kind"]: document for document in documents}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_pass_the_strict_kubernetes_schema(tmp_path, version):
    path = write_manifests(manifests(IMAGE, "3"), tmp_path / "iris.yaml")
    documents = list(yaml.safe_load_all(path.read_text()))
    assert [document["kind"] for document in documents] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
    ]
    for document in documents:
        # strict: an unknown or misspelt field fails too, not only a wrong type
        kubernetes_validate.validate(document, version, strict=True)


def test_the_manifests_are_written_without_anchors_or_aliases(tmp_path):
    # the probes share a dict in memory, which PyYAML would write as `&id001` ... `*id001`
    text = write_manifests(manifests(IMAGE, "3"), tmp_path / "iris.yaml").read_text()
    events = list(yaml.parse(text))
    assert not [event for event in events if isinstance(event, yaml.AliasEvent)]
    assert not [event for event in events if getattr(event, "anchor", None)]
    assert "&id" not in text and "*id" not in text


def test_the_deployment_probes_bentoml_and_runs_the_image_unprivileged():
    documents = by_kind(manifests(IMAGE, "3", min_replicas=2, max_replicas=6))
    deployment = documents["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 3000}]
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    assert deployment["spec"]["template"]["metadata"]["labels"]["iris-mlops/model-version"] == "3"
    assert [variable["name"] for variable in container["env"]] == [
        "SERVING_WORKERS",
        "SERVING_LOG_DIR",
        "SERVING_LOG_MAX_BYTES",
        "SERVING_API_TOKEN",
    ]
    # The inference log on a volume of its own (the root filesystem is read-only), larger
    # than the log's bound.
    values = {variable["name"]: variable.get("value") for variable in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == values["SERVING_LOG_DIR"]]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["emptyDir"]["sizeLimit"] == "96Mi"
    assert int(values["SERVING_LOG_MAX_BYTES"]) < 96 * 1024 * 1024
    # The token from a Secret that may be absent (the service is then open), never a value.
    (token,) = [
        variable for variable in container["env"] if variable["name"] == "SERVING_API_TOKEN"
    ]
    assert "value" not in token
    assert token["valueFrom"]["secretKeyRef"] == {
        "name": "iris-classifier-api-token",
        "key": "token",
        "optional": True,
    }


def test_service_and_autoscaler_point_at_the_deployment():
    documents = by_kind(manifests(IMAGE, min_replicas=2, max_replicas=6))
    deployment, service, autoscaler = (
        documents[kind] for kind in ("Deployment", "Service", "HorizontalPodAutoscaler")
    )
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (2, 6)
    # the autoscaler alone sets the pod count: a Deployment's replicas would reset it on apply
    assert "replicas" not in deployment["spec"]
    # the autoscaler scales on CPU, which needs a CPU request to measure against
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "cpu" in container["resources"]["requests"]


def deploy(tmp_path: Path, *args: str):
    env = {**os.environ, "IRIS_BUILD_DIR": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    return run_cli("deploy", *args, cwd=REPO, timeout=120, env=env)


def test_deploy_needs_a_built_and_pushed_image(tmp_path):
    result = deploy(tmp_path)
    assert result.returncode == 1
    assert "No image built yet: run `make containerize` first." in result.stderr

    (tmp_path / "image.json").write_text(json.dumps({"image": "iris_classifier_service:v1"}))
    result = deploy(tmp_path)
    assert result.returncode == 1
    assert "push the image first: make push-image REGISTRY=" in result.stderr


def test_deploy_writes_the_manifests_and_says_when_no_cluster_is_configured(tmp_path):
    record = {"image": "iris_classifier_service:v1", "model_version": "4", "pushed": IMAGE}
    (tmp_path / "image.json").write_text(json.dumps(record))

    result = deploy(tmp_path, "--dry-run", "--max-replicas", "3")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "kubernetes" / "iris-classifier.yaml"
    documents = by_kind(yaml.safe_load_all(path.read_text()))
    assert documents["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert documents["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 3
    assert documents["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 2
    assert "replicas" not in documents["Deployment"]["spec"]

    result = deploy(tmp_path)  # KUBECONFIG names no cluster
    assert result.returncode == 1
    assert f"the manifests are in {path}" in result.stderr
    assert "kubectl" in result.stderr
