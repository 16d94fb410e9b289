"""Kubernetes manifests for the service image: Deployment, Service, HorizontalPodAutoscaler.

Generated for one image reference (best pinned by digest, as `make push-image` records it),
so a deploy always names exactly the image that was built and tested. The probes use
BentoML's own endpoints: /readyz (the model is loaded) and /healthz (the process answers).
The HorizontalPodAutoscaler alone sets the number of pods: the Deployment names none.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deploy.containers import CONTAINER_PORT

APP = "iris-classifier"
TOKEN_SECRET = f"{APP}-api-token"
BENTO_UID = 1034  # the non-root user BentoML's Dockerfile creates
# The inference log (service/inference_log.py) on a volume of its own: the root filesystem is
# read-only. The pod's copy is bounded (SERVING_LOG_MAX_BYTES) and goes with the pod: set
# SERVING_LOG_S3 to ship each closed segment to a bucket `monitor` reads.
LOG_DIR = "/var/log/iris-classifier"
LOG_MAX_BYTES = 64 * 1024 * 1024
LOG_VOLUME_LIMIT = "96Mi"  # the bound, plus the segments being written


def deployment(image: str, labels: dict[str, str]) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5}
    container = {
        "name": "service",
        "image": image,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
        "env": [
            {"name": "SERVING_WORKERS", "value": "1"},
            {"name": "SERVING_LOG_DIR", "value": LOG_DIR},
            {"name": "SERVING_LOG_MAX_BYTES", "value": str(LOG_MAX_BYTES)},
            # The optional API token comes from a Secret, never from the image:
            # kubectl create secret generic iris-classifier-api-token --from-literal=token=…
            {
                "name": "SERVING_API_TOKEN",
                "valueFrom": {
                    "secretKeyRef": {"name": TOKEN_SECRET, "key": "token", "optional": True}
                },
            },
        ],
        "readinessProbe": {**probe, "initialDelaySeconds": 3, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 15,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        # Model loading takes seconds; liveness waits until the service has started.
        "startupProbe": {**probe, "failureThreshold": 24},
        "resources": {
            "requests": {"cpu": "250m", "memory": "384Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "inference-log", "mountPath": LOG_DIR},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": dict(labels)},
        # No "replicas": the autoscaler owns the count, and a value here would reset the
        # scaled-out Deployment to it on every `kubectl apply`.
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": APP}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": BENTO_UID,
                        "runAsGroup": BENTO_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"medium": "Memory"}},
                        {"name": "inference-log", "emptyDir": {"sizeLimit": LOG_VOLUME_LIMIT}},
                    ],
                },
            },
        },
    }


def service(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "labels": labels},
        "spec": {
            "selector": {"app.kubernetes.io/name": APP},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def autoscaler(min_replicas: int, max_replicas: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": APP, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def manifests(
    image: str, model_version: str = "", min_replicas: int = 2, max_replicas: int = 5
) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "iris-mlops"}
    if model_version:
        labels["iris-mlops/model-version"] = model_version
    return [
        deployment(image, labels),
        service(labels),
        autoscaler(min_replicas, max_replicas, labels),
    ]


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a repeated dict out again instead of as a YAML anchor and alias (`&id001`,
    `*id001`), which people reading or patching the manifests should not have to resolve."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_manifests(documents: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump_all(documents, Dumper=_NoAliasDumper, sort_keys=False))
    return path


class DeployError(RuntimeError):
    """kubectl is missing, has no cluster configured, or refused the manifests."""


def apply(path: Path, namespace: str | None = None) -> str:
    """`kubectl apply` the manifests on the current kubectl context."""
    if shutil.which("kubectl") is None:
        raise DeployError(f"kubectl is not installed; the manifests are in {path}.")
    context = subprocess.run(
        ["kubectl", "config", "current-context"], capture_output=True, text=True
    )
    if context.returncode != 0:
        raise DeployError(
            f"kubectl has no cluster configured ({context.stderr.strip()}); "
            f"the manifests are in {path}: apply them with `kubectl apply -f {path}`."
        )
    command = ["kubectl", "apply", "-f", str(path)]
    if namespace:
        command += ["--namespace", namespace]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise DeployError(f"kubectl apply failed:\n{result.stderr.strip()}")
    return f"context {context.stdout.strip()}:\n{result.stdout.strip()}"
