"""What this machine offers jobs and what is left: pure arithmetic over presets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...jobs.model import Preset
from .outcome import gib

__all__ = ["Offer", "free_offer", "shortfall", "size_text", "too_big"]


@dataclass(frozen=True)
class Offer:
    """CPUs, memory (bytes) and GPU indices, in all or free."""

    cpu: float
    memory: int
    gpus: tuple[int, ...]


def size_text(cpu: float, memory: int, gpu: int) -> str:
    """E.g. ``1 CPU, 2.0 GiB`` or ``8 CPU, 60.0 GiB, 1 GPU``."""
    text = f"{cpu:g} CPU, {gib(memory)}"
    return f"{text}, {gpu} GPU" if gpu else text


def free_offer(total: Offer, in_use: Iterable[tuple[Preset, Sequence[int]]]) -> Offer:
    """What ``total`` leaves after the jobs ``in_use`` (preset, GPU indices held)."""
    cpu, memory = total.cpu, total.memory
    used: set[int] = set()
    for preset, gpus in in_use:
        cpu -= preset.cpu
        memory -= preset.memory
        used.update(gpus)
    return Offer(cpu, memory, tuple(i for i in total.gpus if i not in used))


def shortfall(preset: Preset, free: Offer) -> str | None:
    """Why ``preset`` does not fit in ``free`` now, or None if it fits."""
    # A float sum of CPUs (0.1 + 0.2) must not refuse an exact fit.
    fits_cpu = preset.cpu <= free.cpu + 1e-9
    if fits_cpu and preset.memory <= free.memory and preset.gpu <= len(free.gpus):
        return None
    wanted = size_text(preset.cpu, preset.memory, preset.gpu)
    left = size_text(max(free.cpu, 0.0), max(free.memory, 0), 0)
    if preset.gpu or free.gpus:
        left += f", {len(free.gpus)} GPU"
    return f"waiting for {wanted}: {left} free"


def too_big(preset: Preset, total: Offer) -> str | None:
    """Why ``preset`` can never fit in ``total``, or None if it can."""
    fits_cpu = preset.cpu <= total.cpu
    if fits_cpu and preset.memory <= total.memory and preset.gpu <= len(total.gpus):
        return None
    offers = size_text(total.cpu, total.memory, len(total.gpus))
    if preset.gpu and not total.gpus:
        offers += ", no GPU"  # say it: "needs 1 GPU; offers 2 CPU, 23.5 GiB" hid it (issue 12)
    return (
        f"preset {preset.name} needs {size_text(preset.cpu, preset.memory, preset.gpu)}; "
        f"this machine offers {offers}"
    )
