"""deploy/: every manifest is valid Kubernetes (kubernetes-validate, strict) and
grants exactly what the backend uses, under the names its defaults expect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from neuro_jupyter.backends.kubernetes.config import KubernetesConfig
from neuro_jupyter.backends.kubernetes.metadata import MANAGED_BY

from .schema import check_metadata, validate_strict

DEPLOY = Path(__file__).parents[3] / "deploy"
FILES = sorted(path.name for path in DEPLOY.glob("*.yaml"))


def objects(name: str) -> list[dict[str, Any]]:
    with open(DEPLOY / name, encoding="utf-8") as file:
        return [obj for obj in yaml.safe_load_all(file) if obj is not None]


def all_objects() -> Iterator[dict[str, Any]]:
    for name in FILES:
        yield from objects(name)


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in all_objects() if obj["kind"] == kind]


def test_the_files() -> None:
    assert FILES == [
        "namespace.yaml",
        "priorityclasses.yaml",
        "role.yaml",
        "rolebinding.yaml",
        "serviceaccount.yaml",
        "storage.yaml",
    ]
    readme = (DEPLOY / "README.md").read_text()
    for name in FILES:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("name", FILES)
def test_each_manifest_is_valid_kubernetes(name: str) -> None:
    found = objects(name)
    assert found, name
    for obj in found:
        validate_strict(obj)
        check_metadata(obj["metadata"])


def test_one_namespace_for_everything() -> None:
    [namespace] = by_kind("Namespace")
    name = namespace["metadata"]["name"]
    cluster_wide = {"Namespace", "PriorityClass"}
    for obj in all_objects():
        if obj["kind"] not in cluster_wide:
            assert obj["metadata"]["namespace"] == name, obj["kind"]
    [binding] = by_kind("RoleBinding")
    assert [s["namespace"] for s in binding["subjects"]] == [name]


def test_the_role_grants_exactly_what_the_backend_uses() -> None:
    [role] = by_kind("Role")
    grants = {
        (group, resource): sorted(rule["verbs"])
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert grants == {
        ("", "pods"): sorted(["get", "list", "watch", "create", "delete", "patch"]),
        ("", "pods/log"): ["get"],
        ("", "pods/exec"): ["create", "get"],
        ("", "events"): ["get", "list", "watch"],
        ("", "persistentvolumeclaims"): ["get"],
        ("metrics.k8s.io", "pods"): ["get"],
    }
    [claim_rule] = [r for r in role["rules"] if r["resources"] == ["persistentvolumeclaims"]]
    assert claim_rule["resourceNames"] == [KubernetesConfig().storage_claim]
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]


def test_the_binding_gives_the_role_to_the_service_account() -> None:
    [binding] = by_kind("RoleBinding")
    [role] = by_kind("Role")
    [account] = by_kind("ServiceAccount")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": account["metadata"]["name"],
            "namespace": account["metadata"]["namespace"],
        }
    ]


def test_the_storage_claim_is_the_default_one_and_shared() -> None:
    [claim] = by_kind("PersistentVolumeClaim")
    assert claim["metadata"]["name"] == KubernetesConfig().storage_claim
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_preemptible_priority_class_is_the_default_one() -> None:
    [priority] = by_kind("PriorityClass")
    assert priority["metadata"]["name"] == KubernetesConfig().preemptible_priority_class
    assert priority["value"] < 0  # below the default (0): on-demand jobs go first
    assert priority["preemptionPolicy"] == "Never"
    assert priority["globalDefault"] is False


def test_cluster_objects_are_not_mistaken_for_job_pods() -> None:
    for obj in all_objects():
        labels = obj["metadata"].get("labels", {})
        assert labels.get(MANAGED_BY[0]) != MANAGED_BY[1], obj["kind"]
