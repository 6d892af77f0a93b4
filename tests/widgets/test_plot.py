"""The telemetry plot: a pure function of the last samples."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from neuro_jupyter.client import Sample
from neuro_jupyter.widgets.plot import TelemetrySeries, telemetry_svg

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MIB = 2**20


def sample(i: int, cpu: float, memory_mib: int, gpu: float | None = None) -> Sample:
    gpu_memory = None if gpu is None else 100 * MIB
    return Sample(T0 + timedelta(seconds=i), cpu, memory_mib * MIB, gpu, gpu_memory)


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    found = re.findall(r'<polyline [^>]*points="([^"]*)"', svg)
    return [[tuple(map(float, p.split(","))) for p in points.split()] for points in found]  # type: ignore[misc]


def test_no_samples_says_so() -> None:
    assert "no telemetry yet" in telemetry_svg([])


def test_cpu_and_memory_are_drawn_with_their_latest_values() -> None:
    svg = telemetry_svg([sample(0, 10.0, 50), sample(1, 50.0, 100)], memory_limit=200 * MIB)
    cpu, memory = polylines(svg)
    assert len(cpu) == len(memory) == 2
    assert "CPU 50.0 %" in svg and "memory 100.0 MiB" in svg
    assert "GPU" not in svg  # no GPU values: no GPU lines
    # The memory axis reaches the preset's limit: 100 of 200 MiB is half-way up.
    top, bottom = 2 * 26 + 90, 2 * 26 + 2 * 90
    assert memory[1][1] == (top + bottom) / 2


def test_gpu_lines_appear_when_the_job_has_gpus() -> None:
    svg = telemetry_svg([sample(0, 1.0, 10, gpu=80.0), sample(1, 1.0, 10, gpu=90.0)])
    assert len(polylines(svg)) == 4
    assert "GPU 90.0 %" in svg and "GPU memory 100.0 MiB" in svg


def test_the_series_keeps_the_last_samples() -> None:
    series = TelemetrySeries(size=5)
    for i in range(100):
        series.add(sample(i, float(i), 1))
    assert len(series) == 5
    assert [s.cpu for s in series.samples] == [95.0, 96.0, 97.0, 98.0, 99.0]
    assert len(polylines(telemetry_svg(series.samples))[0]) == 5
