"""How a cluster marks spot and GPU nodes: the labels and taints job pods are placed by. Pure.

Clouds disagree on the names, so they are data, chosen by name or written out
(``c.KubernetesBackend.node_conventions``). Spot label (and taint); GPU model
label; GPU taint:

- ``generic`` (self-managed clusters; label and taint spot nodes yourself):
  ``neuro-jupyter/preemptible=true`` (tainted the same); ``nvidia.com/gpu.product``
  (NVIDIA GPU Feature Discovery); ``nvidia.com/gpu``, any value.
- ``gke``: ``cloud.google.com/gke-spot=true`` (the taint is optional per
  pool); ``cloud.google.com/gke-accelerator``; ``nvidia.com/gpu`` (GKE sets ``present``).
- ``aks``: ``kubernetes.azure.com/scalesetpriority=spot`` (AKS taints spot
  pools the same); ``nvidia.com/gpu.product``; ``sku=gpu`` (Azure's documented taint).
- ``eks`` (managed node groups): ``eks.amazonaws.com/capacityType=SPOT`` (no
  taint); ``k8s.amazonaws.com/accelerator`` (the Cluster Autoscaler's); ``nvidia.com/gpu``.
- ``karpenter``: ``karpenter.sh/capacity-type=spot`` (no taint);
  ``karpenter.k8s.aws/instance-gpu-name`` (``t4``, ``a10g``, ...); ``nvidia.com/gpu``.

A toleration for a taint that a node does not carry is harmless, so the
optional taints (GKE's spot taint, the GPU taints) are tolerated anyway.
``keep_off_spot`` keeps on-demand jobs off spot nodes with a ``NotIn``
node affinity; nodes without the label match it, so it never blocks a cluster
that has no spot nodes at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .names import is_valid_label_key, is_valid_label_value

__all__ = ["CONVENTIONS", "NodeConventions", "Taint", "parse_conventions"]

_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class Taint:
    """A node taint that job pods tolerate; ``value`` None tolerates any value."""

    key: str
    value: str | None = None
    effect: str = "NoSchedule"

    def toleration(self) -> dict[str, str]:
        """The pod toleration for this taint."""
        if self.value is None:
            return {"key": self.key, "operator": "Exists", "effect": self.effect}
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class NodeConventions:
    """The node labels and taints of one kind of cluster (see the module docstring)."""

    name: str
    spot_label: str
    """Node label key that marks spot (preemptible) nodes."""
    spot_value: str
    """Its value on spot nodes."""
    spot_taint: Taint | None
    """The taint on spot nodes, tolerated by preemptible jobs; None: spot nodes have none."""
    gpu_model_label: str
    """Node label whose value is the GPU model: a preset's ``gpu_model`` selects on it."""
    gpu_taint: Taint | None = Taint("nvidia.com/gpu")
    """The taint on GPU nodes, tolerated by jobs with GPUs."""
    gpu_resource: str = "nvidia.com/gpu"
    """The extended resource GPUs are counted in."""
    keep_off_spot: bool = True
    """Keep jobs of on-demand presets off spot nodes (required node affinity ``NotIn``)."""


_GENERIC = NodeConventions(
    name="generic",
    spot_label="neuro-jupyter/preemptible",
    spot_value="true",
    spot_taint=Taint("neuro-jupyter/preemptible", "true"),
    gpu_model_label="nvidia.com/gpu.product",
)

CONVENTIONS: Mapping[str, NodeConventions] = {
    "generic": _GENERIC,
    "gke": NodeConventions(
        name="gke",
        spot_label="cloud.google.com/gke-spot",
        spot_value="true",
        spot_taint=Taint("cloud.google.com/gke-spot", "true"),
        gpu_model_label="cloud.google.com/gke-accelerator",
    ),
    "aks": NodeConventions(
        name="aks",
        spot_label="kubernetes.azure.com/scalesetpriority",
        spot_value="spot",
        spot_taint=Taint("kubernetes.azure.com/scalesetpriority", "spot"),
        gpu_model_label="nvidia.com/gpu.product",
        gpu_taint=Taint("sku", "gpu"),
    ),
    "eks": NodeConventions(
        name="eks",
        spot_label="eks.amazonaws.com/capacityType",
        spot_value="SPOT",
        spot_taint=None,
        gpu_model_label="k8s.amazonaws.com/accelerator",
    ),
    "karpenter": NodeConventions(
        name="karpenter",
        spot_label="karpenter.sh/capacity-type",
        spot_value="spot",
        spot_taint=None,
        gpu_model_label="karpenter.k8s.aws/instance-gpu-name",
    ),
}
"""The built-in conventions by name."""


def _taint(key: str, value: object) -> Taint | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"key", "value", "effect"}:
        raise ValueError(f"{key} must be null or an object with key, value and effect")
    taint_key = value.get("key")
    if not isinstance(taint_key, str) or not is_valid_label_key(taint_key):
        raise ValueError(f"{key}.key {taint_key!r} is not a valid taint key")
    taint_value = value.get("value")
    if taint_value is not None and (
        not isinstance(taint_value, str) or not is_valid_label_value(taint_value)
    ):
        raise ValueError(f"{key}.value {taint_value!r} is not a valid taint value")
    effect = value.get("effect", "NoSchedule")
    if effect not in _EFFECTS:
        raise ValueError(f"{key}.effect {effect!r} is not one of {', '.join(_EFFECTS)}")
    return Taint(taint_key, taint_value, effect)


def _check(conventions: NodeConventions) -> NodeConventions:
    for key in ("spot_label", "gpu_model_label", "gpu_resource"):
        if not is_valid_label_key(getattr(conventions, key)):
            raise ValueError(f"{key} {getattr(conventions, key)!r} is not a valid label key")
    if not conventions.spot_value or not is_valid_label_value(conventions.spot_value):
        raise ValueError(f"spot_value {conventions.spot_value!r} is not a valid label value")
    return conventions


def parse_conventions(value: str | Mapping[str, Any]) -> NodeConventions:
    """Conventions by name, or a dict of fields over a ``base`` (default ``generic``).

    E.g. ``{"base": "eks", "spot_taint": {"key": "spot", "value": "true"}}``,
    or ``{"gpu_taint": null}`` for GPU nodes without a taint.

    Raises:
        ValueError: naming the unknown name or the bad field.
    """
    if isinstance(value, str):
        if value not in CONVENTIONS:
            raise ValueError(
                f"unknown node conventions {value!r}: use one of {', '.join(CONVENTIONS)} "
                "or a dict of fields"
            )
        return CONVENTIONS[value]
    data = dict(value)
    base = parse_conventions(str(data.pop("base", "generic")))
    known = {f.name for f in fields(NodeConventions)} - {"name"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown node conventions field(s) {', '.join(unknown)}: "
            f"use base, {', '.join(sorted(known))}"
        )
    changes: dict[str, Any] = {}
    for key, item in data.items():
        if key in ("spot_taint", "gpu_taint"):
            changes[key] = _taint(key, item)
        elif key == "keep_off_spot":
            if not isinstance(item, bool):
                raise ValueError(f"keep_off_spot must be true or false, not {item!r}")
            changes[key] = item
        elif not isinstance(item, str):
            raise ValueError(f"{key} must be a string, not {item!r}")
        else:
            changes[key] = item
    return _check(replace(base, name=f"custom ({base.name})", **changes))
