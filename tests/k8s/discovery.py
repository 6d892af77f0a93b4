"""The discovery documents: ``/version``, ``/api/v1``, ``/apis`` and metrics.k8s.io."""

from __future__ import annotations

from typing import Any

__all__ = ["DISCOVERY"]

Obj = dict[str, Any]
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "emulator",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _resources(group: str, items: list[tuple[str, str, bool, list[str]]]) -> Obj:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group,
        "resources": [
            {
                "name": name,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": verbs,
            }
            for name, kind, namespaced, verbs in items
        ],
    }


CORE = _resources(
    "v1",
    [
        (
            "pods",
            "Pod",
            True,
            ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        ),
        ("pods/exec", "PodExecOptions", True, ["create", "get"]),
        ("pods/log", "Pod", True, ["get"]),
        ("pods/status", "Pod", True, ["get"]),
        ("events", "Event", True, ["create", "delete", "get", "list", "watch"]),
        ("nodes", "Node", False, ["get", "list", "watch"]),
        ("namespaces", "Namespace", False, ["get"]),
    ],
)
METRICS = _resources("metrics.k8s.io/v1beta1", [("pods", "PodMetrics", True, ["get", "list"])])
GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [
        {
            "name": "metrics.k8s.io",
            "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
            "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"},
        }
    ],
}
DISCOVERY = {
    "/version": VERSION,
    "/api/v1": CORE,
    "/apis": GROUPS,
    "/apis/metrics.k8s.io/v1beta1": METRICS,
}
