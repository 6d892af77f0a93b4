"""Resource readings of a local job's process tree (psutil) and its GPUs (NVML)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timezone

import psutil

from ..base import TelemetrySample
from .gpus import GpuUsage, gpu_usage
from .jobdir import Started

__all__ = ["TreeSampler", "make_sample", "tree_samples"]


class TreeSampler:
    """CPU and resident memory summed over a process and all its descendants.

    CPU percent needs two readings of each process, so the sampler keeps the
    ``psutil.Process`` objects between calls; a process's first reading is 0.
    """

    def __init__(self, pid: int, create_time: float) -> None:
        self._pid = pid
        self._create_time = create_time
        self._known: dict[tuple[int, float], psutil.Process] = {}

    def _tree(self) -> list[psutil.Process] | None:
        try:
            root = psutil.Process(self._pid)
            if abs(root.create_time() - self._create_time) > 0.05:
                return None
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None

    def sample(self) -> tuple[float, int] | None:
        """(CPU percent of one CPU, RSS bytes); None once the root process is gone."""
        tree = self._tree()
        if tree is None:
            return None
        cpu, rss = 0.0, 0
        seen: dict[tuple[int, float], psutil.Process] = {}
        for proc in tree:
            try:
                key = (proc.pid, proc.create_time())
                proc = self._known.get(key, proc)
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                seen[key] = proc
            except psutil.NoSuchProcess:
                continue
        self._known = seen
        return cpu, rss


def make_sample(cpu: float, memory: int, gpus: Sequence[int]) -> TelemetrySample:
    """A sample now, with readings of ``gpus`` (none without GPUs or NVML)."""
    readings: list[GpuUsage] = gpu_usage(gpus) if gpus else []
    if not readings:
        return TelemetrySample(at=datetime.now(timezone.utc), cpu=cpu, memory=memory)
    return TelemetrySample(
        at=datetime.now(timezone.utc),
        cpu=cpu,
        memory=memory,
        gpu_utilization=sum(r.utilization for r in readings) / len(readings),
        gpu_memory=sum(r.memory_used for r in readings),
        gpus=tuple(r.to_json() for r in readings),
    )


async def tree_samples(
    current: Callable[[], Started | None],
    live: Callable[[], bool],
    gpus: Sequence[int],
    interval: float,
) -> AsyncIterator[TelemetrySample]:
    """Samples of the attempt ``current()`` every ``interval`` while ``live()``.

    A restart starts a new process tree, and a new sampler for it.
    """
    sampler: TreeSampler | None = None
    attempt = -1
    while live():
        started = current()
        if started is not None:
            if started.attempt != attempt:
                attempt = started.attempt
                sampler = TreeSampler(started.pid, started.create_time)
                sampler.sample()  # CPU percent needs a first reading
                await asyncio.sleep(interval)
            reading = sampler.sample() if sampler else None
            if reading is not None:
                yield make_sample(reading[0], reading[1], gpus)
        await asyncio.sleep(interval)
