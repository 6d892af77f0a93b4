"""GPU figures of one pod from an NVIDIA dcgm-exporter scrape (pure: no I/O).

dcgm-exporter serves the Prometheus text exposition format on
``:9400/metrics``. Run with ``DCGM_EXPORTER_KUBERNETES=true`` it labels each
GPU's series with the ``namespace``, ``pod`` and ``container`` the GPU is
allocated to (through the kubelet's pod-resources socket); series of GPUs no
pod holds, or whose pod labels went missing (dcgm-exporter#342), carry no
``pod`` label and are ignored here. The text is parsed with
``prometheus_client``'s parser (the reference implementation of the format:
escapes, ``NaN``, timestamps and comments included).

Series read (one per GPU; the GPU's ``UUID`` label keys it):

- ``DCGM_FI_DEV_GPU_UTIL``: percent busy;
- ``DCGM_FI_DEV_FB_USED`` / ``_FREE`` / ``_RESERVED``: framebuffer memory, MiB.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ..base import TelemetrySample

__all__ = ["DcgmGpu", "parse_pod_gpus", "with_gpus"]

MIB = 1 << 20
UTIL = "DCGM_FI_DEV_GPU_UTIL"
FB_USED = "DCGM_FI_DEV_FB_USED"
FB_FREE = "DCGM_FI_DEV_FB_FREE"
FB_RESERVED = "DCGM_FI_DEV_FB_RESERVED"
_READ = frozenset({UTIL, FB_USED, FB_FREE, FB_RESERVED})


@dataclass(frozen=True)
class DcgmGpu:
    """One GPU of a pod, as the exporter last saw it."""

    uuid: str
    index: int
    """The node's GPU index (the ``gpu`` label; -1 when absent)."""
    model: str
    utilization: float | None
    """Percent busy; None without a ``DCGM_FI_DEV_GPU_UTIL`` series."""
    memory_used: int | None
    """Bytes of framebuffer used; None without a ``DCGM_FI_DEV_FB_USED`` series."""
    memory_total: int | None
    """Bytes used + free (+ reserved); None unless both used and free are exported."""

    def to_json(self) -> dict[str, Any]:
        """As JSON data (a :class:`TelemetrySample`'s ``gpus`` entry)."""
        return {
            "index": self.index,
            "uuid": self.uuid,
            "model": self.model,
            "utilization": self.utilization,
            "memory_used": self.memory_used,
            "memory_total": self.memory_total,
        }


def parse_pod_gpus(text: str, namespace: str, pod: str) -> list[DcgmGpu]:
    """The GPUs held by ``pod`` of ``namespace`` in an exporter's ``text``, by index.

    Series without ``namespace``/``pod`` labels, or of other pods, are ignored;
    so are ``NaN`` values (a field DCGM could not read).

    Raises:
        ValueError: ``text`` is not the Prometheus text format.
    """
    values: dict[str, dict[str, float]] = {}
    labels_of: dict[str, Mapping[str, str]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in _READ:
            continue
        for sample in family.samples:
            labels = sample.labels
            if labels.get("namespace") != namespace or labels.get("pod") != pod:
                continue
            if math.isnan(sample.value):
                continue
            key = labels.get("UUID") or f"{labels.get('Hostname', '')}/{labels.get('gpu', '')}"
            values.setdefault(key, {})[sample.name] = sample.value
            labels_of.setdefault(key, labels)
    gpus = [_gpu(key, labels_of[key], fields) for key, fields in values.items()]
    return sorted(gpus, key=lambda gpu: (gpu.index, gpu.uuid))


def _gpu(key: str, labels: Mapping[str, str], fields: Mapping[str, float]) -> DcgmGpu:
    used, free = fields.get(FB_USED), fields.get(FB_FREE)
    total = None
    if used is not None and free is not None:
        total = int((used + free + fields.get(FB_RESERVED, 0.0)) * MIB)
    gpu = labels.get("gpu", "")
    return DcgmGpu(
        uuid=key,
        index=int(gpu) if gpu.isdigit() else -1,
        model=labels.get("modelName", ""),
        utilization=fields.get(UTIL),
        memory_used=None if used is None else int(used * MIB),
        memory_total=total,
    )


def with_gpus(sample: TelemetrySample, gpus: Iterable[DcgmGpu]) -> TelemetrySample:
    """``sample`` with the GPU fields of ``gpus``: mean utilisation, summed memory used.

    A field none of ``gpus`` reports stays None (so does each without ``gpus``).
    """
    gpus = list(gpus)
    busy = [gpu.utilization for gpu in gpus if gpu.utilization is not None]
    used = [gpu.memory_used for gpu in gpus if gpu.memory_used is not None]
    return dataclasses.replace(
        sample,
        gpu_utilization=sum(busy) / len(busy) if busy else None,
        gpu_memory=sum(used) if used else None,
        gpus=tuple(gpu.to_json() for gpu in gpus),
    )
