"""This machine's NVIDIA GPUs through NVML (nvidia-ml-py's ``pynvml``).

Every function degrades to "no GPUs" when NVML is missing (no driver, no
library, a machine without NVIDIA hardware): the local backend then offers CPU
presets only. NVML is initialised once per process and kept: a query costs
microseconds after a ~10 ms init.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["GpuInfo", "GpuUsage", "Nvml", "discover_gpus", "gpu_usage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: its NVML index (what ``CUDA_VISIBLE_DEVICES`` names), model, memory."""

    index: int
    name: str
    memory_total: int


@dataclass(frozen=True)
class GpuUsage:
    """One reading of one GPU."""

    index: int
    utilization: float
    """Percent of the last sample period the GPU was busy."""
    memory_used: int
    memory_total: int

    def to_json(self) -> dict[str, Any]:
        """As JSON data (a :class:`TelemetrySample`'s ``gpus`` entry)."""
        return {
            "index": self.index,
            "utilization": self.utilization,
            "memory_used": self.memory_used,
            "memory_total": self.memory_total,
        }


class Nvml:
    """A lazily initialised NVML session; unavailable NVML means no GPUs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._module: Any = None
        self._tried = False

    def _nvml(self) -> Any:
        with self._lock:
            if not self._tried:
                self._tried = True
                self._module = self._load()
            return self._module

    @staticmethod
    def _load() -> Any:
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError...
            log.debug("NVML unavailable, no GPUs: %s", e)
            return None
        return pynvml

    @property
    def available(self) -> bool:
        """Whether NVML answered."""
        return self._nvml() is not None

    def devices(self) -> list[GpuInfo]:
        """Every GPU NVML sees, by index; empty without NVML."""
        nvml = self._nvml()
        if nvml is None:
            return []
        try:
            found = []
            for i in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                name = nvml.nvmlDeviceGetName(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                found.append(GpuInfo(i, _text(name), int(memory.total)))
            return found
        except nvml.NVMLError as e:
            log.warning("NVML could not list GPUs: %s", e)
            return []

    def usage(self, indices: Sequence[int]) -> list[GpuUsage]:
        """Utilisation and memory of the GPUs ``indices``; those that fail are left out."""
        nvml = self._nvml()
        if nvml is None:
            return []
        readings = []
        for i in indices:
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                rates = nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except nvml.NVMLError:
                continue  # a fake index (the ``gpus`` override) or a GPU that fell off
            readings.append(GpuUsage(i, float(rates.gpu), int(memory.used), int(memory.total)))
        return readings


def _text(value: str | bytes) -> str:
    # Older pynvml releases return bytes for names.
    return value.decode() if isinstance(value, bytes) else value


_DEFAULT = Nvml()


def discover_gpus() -> list[GpuInfo]:
    """This machine's GPUs (empty without NVML)."""
    return _DEFAULT.devices()


def gpu_usage(indices: Sequence[int]) -> list[GpuUsage]:
    """Readings for the GPUs ``indices`` (empty without NVML)."""
    return _DEFAULT.usage(indices) if indices else []
