"""Nodes and the scheduler's filters: taints, node affinity/selector, resources.

The filters run in kube-scheduler's order (TaintToleration, NodeAffinity,
NodeResourcesFit); a node fails on the first filter that rejects the pod, and
the FailedScheduling message counts the reasons over all nodes, worded as
the scheduler words them::

    0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are
    available: 1 No preemption victims found for incoming pod.
"""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .pods import pod_requests
from .selectors import parse_quantity

__all__ = ["Node", "place"]

Obj = dict[str, Any]

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


@dataclass
class Node:
    """A node of the emulated cluster; every pod placed on it runs on this machine.

    Args:
        name: the node's name (also its ``kubernetes.io/hostname`` label).
        cpu: allocatable CPU, cores or a quantity (``"500m"``).
        memory: allocatable memory, bytes or a quantity (``"16Gi"``).
        gpus: allocatable ``nvidia.com/gpu``.
        pods: how many pods fit at most.
        labels: extra node labels (``{"cloud.google.com/gke-spot": "true"}``).
        taints: ``[{"key", "value", "effect"}]``.
        extra: other allocatable extended resources.
    """

    name: str = "node-1"
    cpu: float | str = 4
    memory: int | str = "16Gi"
    gpus: int = 0
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Obj] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    def allocatable(self) -> dict[str, float]:
        """Allocatable amounts as numbers (cores, bytes, units)."""
        amounts = {
            "cpu": float(parse_quantity(self.cpu)),
            "memory": float(parse_quantity(self.memory)),
            "pods": float(self.pods),
            "nvidia.com/gpu": float(self.gpus),
        }
        amounts.update({k: float(parse_quantity(v)) for k, v in self.extra.items()})
        return amounts

    def manifest(self) -> Obj:
        """The Node object the API serves."""
        allocatable = {
            "cpu": str(self.cpu),
            "memory": str(self.memory),
            "pods": str(self.pods),
            "ephemeral-storage": "100Gi",
            **self.extra,
        }
        if self.gpus:
            allocatable["nvidia.com/gpu"] = str(self.gpus)
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            **self.labels,
        }
        return {
            "metadata": {"name": self.name, "labels": labels},
            "spec": {"taints": list(self.taints)} if self.taints else {},
            "status": {
                "capacity": dict(allocatable),
                "allocatable": allocatable,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                    }
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "127.0.0.1"},
                    {"type": "Hostname", "address": self.name},
                ],
                "nodeInfo": {
                    "kubeletVersion": "v1.31.0",
                    "containerRuntimeVersion": "containerd://1.7.20",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "kernelVersion": platform.release(),
                    "osImage": "neuro-jupyter kubelet emulator",
                    "kubeProxyVersion": "v1.31.0",
                    "bootID": "00000000-0000-0000-0000-000000000000",
                    "machineID": "emulator",
                    "systemUUID": "00000000-0000-0000-0000-000000000000",
                },
            },
        }


def _tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key, operator = toleration.get("key"), toleration.get("operator", "Equal")
        if not key and operator == "Exists":
            return True
        if key != taint.get("key"):
            continue
        if operator == "Exists" or toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def _expression(expr: Obj, labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _affinity_matches(pod: Obj, node: Node, labels: dict[str, str]) -> bool:
    spec = pod.get("spec", {})
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node.name}
    return any(
        all(_expression(e, labels) for e in term.get("matchExpressions") or [])
        and all(_expression(e, fields) for e in term.get("matchFields") or [])
        for term in terms
    )


def _failures(pod: Obj, node: Node, used: dict[str, float]) -> tuple[list[str], str]:
    """Why ``pod`` does not fit ``node`` (empty when it does), and the preemption verdict."""
    tolerations = pod.get("spec", {}).get("tolerations") or []
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(
            tolerations, taint
        ):
            text = f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
            return [text], NOT_HELPFUL
    labels = node.manifest()["metadata"]["labels"]
    if not _affinity_matches(pod, node, labels):
        return ["node(s) didn't match Pod's node affinity/selector"], NOT_HELPFUL
    allocatable = node.allocatable()
    reasons = []
    if used.get("pods", 0.0) + 1 > allocatable["pods"]:
        reasons.append("Too many pods")
    for key, amount in sorted(pod_requests(pod).items()):
        if amount > 0 and used.get(key, 0.0) + amount > allocatable.get(key, 0.0) + 1e-9:
            reasons.append(f"Insufficient {key}")
    return reasons, NO_VICTIMS


def place(pod: Obj, nodes: list[Node], used: dict[str, dict[str, float]]) -> tuple[str | None, str]:
    """Choose a node for ``pod``.

    Args:
        pod: the pending pod.
        nodes: the cluster's nodes, in order of preference.
        used: node name -> what its pods hold (requests summed, ``pods`` their count).

    Returns:
        (node name, "") when a node fits; (None, the scheduler's message) otherwise.
    """
    reasons: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for node in nodes:
        failed, verdict = _failures(pod, node, used.get(node.name, {}))
        if not failed:
            return node.name, ""
        reasons.update(failed)
        verdicts[verdict] += 1
    total = len(nodes)
    if not total:
        return None, "no nodes available to schedule pods"
    parts = sorted(f"{n} {reason}" for reason, n in reasons.items())
    preemption = sorted(f"{n} {verdict}" for verdict, n in verdicts.items())
    return None, (
        f"0/{total} nodes are available: {', '.join(parts)}. "
        f"preemption: 0/{total} nodes are available: {', '.join(preemption)}."
    )
