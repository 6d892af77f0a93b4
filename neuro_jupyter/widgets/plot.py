"""The telemetry plot: an SVG of the last samples, for an ``ipywidgets.HTML``.

Pure (no widgets, no I/O). Two panels share the time axis: utilisation in %
(CPU, GPU) and memory in MiB (the job's, its GPUs'). :class:`TelemetrySeries`
keeps only the last ``size`` samples, so the plot and the kernel stay small
however long the job runs.
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..client import Sample

__all__ = ["TelemetrySeries", "telemetry_svg"]

WIDTH = 480
PANEL = 90
GAP = 26
MIB = 2**20

Value = Callable[[Sample], float | None]


@dataclass(frozen=True)
class _Line:
    label: str
    color: str
    value: Value
    unit: str


_PERCENT = (
    _Line("CPU", "#1f77b4", lambda s: s.cpu, "%"),
    _Line("GPU", "#2ca02c", lambda s: s.gpu, "%"),
)


def _gpu_memory(sample: Sample) -> float | None:
    return None if sample.gpu_memory is None else sample.gpu_memory / MIB


_MEMORY = (
    _Line("memory", "#ff7f0e", lambda s: s.memory / MIB, "MiB"),
    _Line("GPU memory", "#d62728", _gpu_memory, "MiB"),
)


class TelemetrySeries:
    """The last ``size`` samples of a job, oldest first."""

    def __init__(self, size: int = 120) -> None:
        self.samples: deque[Sample] = deque(maxlen=size)

    def add(self, sample: Sample) -> None:
        """Keep ``sample``, letting the oldest go when full."""
        self.samples.append(sample)

    def __len__(self) -> int:
        return len(self.samples)


def _points(values: Sequence[float], top: float, y0: float) -> str:
    step = WIDTH / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{y0 + PANEL - min(v, top) / top * PANEL:.1f}" for i, v in enumerate(values)
    )


def _panel(samples: Sequence[Sample], lines: Sequence[_Line], floor: float, y0: float) -> str:
    shown = [(line, [line.value(s) for s in samples]) for line in lines]
    series = [(line, [v for v in vs if v is not None]) for line, vs in shown]
    series = [(line, vs) for line, vs in series if len(vs) == len(samples) and vs]
    top = max([floor, *(max(vs) for _, vs in series)]) or 1.0
    parts = [
        f'<rect x="0" y="{y0}" width="{WIDTH}" height="{PANEL}" fill="none" stroke="#ccc"/>',
        f'<text x="{WIDTH - 2}" y="{y0 + 10}" text-anchor="end" font-size="9" fill="#888">'
        f"{top:.0f} {html.escape(lines[0].unit)}</text>",
    ]
    legend = []
    for line, values in series:
        parts.append(
            f'<polyline fill="none" stroke="{line.color}" stroke-width="1.5" '
            f'points="{_points(values, top, y0)}"/>'
        )
        legend.append(
            f'<tspan fill="{line.color}">{html.escape(line.label)} '
            f"{values[-1]:.1f} {html.escape(line.unit)}</tspan>"
        )
    parts.append(f'<text x="2" y="{y0 - 4}" font-size="11">{"  ".join(legend)}</text>')
    return "".join(parts)


def telemetry_svg(samples: Sequence[Sample], memory_limit: int | None = None) -> str:
    """The SVG of ``samples``: % on top (CPU, GPU), MiB below (memory, GPU memory).

    The % axis reaches at least 100, the memory axis at least ``memory_limit``
    (the preset's, in bytes); lines without values (no GPU) are left out.
    """
    if not samples:
        return '<div class="neuro-telemetry"><i>no telemetry yet</i></div>'
    memory_floor = (memory_limit or 0) / MIB
    height = 2 * (PANEL + GAP)
    body = _panel(samples, _PERCENT, 100.0, GAP) + _panel(
        samples, _MEMORY, memory_floor, 2 * GAP + PANEL
    )
    return (
        f'<svg class="neuro-telemetry" xmlns="http://www.w3.org/2000/svg" '
        f'width="{WIDTH}" height="{height}" viewBox="0 -2 {WIDTH} {height + 2}">{body}</svg>'
    )
