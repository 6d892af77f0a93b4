"""Checks of manifests against Kubernetes: the OpenAPI schema (kubernetes-validate,
strict: no unknown fields, right types), and the rules the schema leaves out
(enums, label syntax, names that must be unique or must be referenced)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import kubernetes_validate

from neuro_jupyter.backends.kubernetes.names import is_valid_label_key, is_valid_label_value

VERSIONS = ("1.33", kubernetes_validate.latest_version())
"""A Kubernetes still in wide use, and the newest whose schema the package bundles."""

DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
RESTART_POLICIES = {"Never", "OnFailure", "Always"}
EFFECTS = {"NoSchedule", "PreferNoSchedule", "NoExecute"}
NODE_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"}
PULL_POLICIES = {"Always", "IfNotPresent", "Never"}


def validate_strict(manifest: Mapping[str, Any]) -> None:
    """Validate against every version in :data:`VERSIONS`, strictly; raises on the first error."""
    for version in VERSIONS:
        kubernetes_validate.validate(dict(manifest), version, strict=True)


def check_metadata(metadata: Mapping[str, Any]) -> None:
    for key, value in (metadata.get("labels") or {}).items():
        assert is_valid_label_key(key), key
        assert is_valid_label_value(value), (key, value)
    for key, value in (metadata.get("annotations") or {}).items():
        assert is_valid_label_key(key), key
        assert isinstance(value, str), (key, value)


def check_pod(pod: Mapping[str, Any]) -> None:
    """Schema-valid, and right where the schema does not look."""
    validate_strict(pod)
    assert DNS_LABEL.fullmatch(pod["metadata"]["name"])
    check_metadata(pod["metadata"])
    spec = pod["spec"]
    assert spec["restartPolicy"] in RESTART_POLICIES
    volumes = [v["name"] for v in spec.get("volumes", [])]
    assert len(volumes) == len(set(volumes)), volumes
    for container in spec["containers"]:
        assert DNS_LABEL.fullmatch(container["name"])
        assert container.get("imagePullPolicy", "Always") in PULL_POLICIES
        env = Counter(item["name"] for item in container.get("env", []))
        assert not [name for name, n in env.items() if n > 1], env
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        assert len(mounts) == len(set(mounts)), mounts
        assert {m["name"] for m in container.get("volumeMounts", [])} <= set(volumes)
        for mount in container.get("volumeMounts", []):
            sub_path = mount.get("subPath", "")
            assert not sub_path.startswith("/") and ".." not in sub_path.split("/"), sub_path
        resources = container["resources"]
        for name, limit in resources.get("limits", {}).items():
            if "/" in name:  # extended resources: requests must equal limits
                assert resources["requests"].get(name, limit) == limit
    for key, value in (spec.get("nodeSelector") or {}).items():
        assert is_valid_label_key(key) and is_valid_label_value(value), (key, value)
    for toleration in spec.get("tolerations", []):
        assert toleration.get("effect", "NoSchedule") in EFFECTS
        assert toleration["operator"] in {"Exists", "Equal"}
        assert ("value" in toleration) == (toleration["operator"] == "Equal")
    required = spec.get("affinity", {}).get("nodeAffinity", {})
    required = required.get("requiredDuringSchedulingIgnoredDuringExecution", {})
    for term in required.get("nodeSelectorTerms", []):
        for expression in term["matchExpressions"]:
            assert expression["operator"] in NODE_OPERATORS
            assert is_valid_label_key(expression["key"])
