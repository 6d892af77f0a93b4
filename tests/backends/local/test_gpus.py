"""NVML discovery: real GPUs where there are some, a clean "none" elsewhere."""

from __future__ import annotations

from neuro_jupyter.backends.local.gpus import Nvml, discover_gpus, gpu_usage

# Which test exists depends on the machine, so nothing is ever skipped: CI
# (no GPU) checks the clean "none"; a GPU machine checks real readings.
HAVE_NVML = Nvml().available

if not HAVE_NVML:

    def test_no_nvml_means_no_gpus() -> None:
        nvml = Nvml()
        assert nvml.devices() == []
        assert nvml.usage([0]) == []
        assert discover_gpus() == [] and gpu_usage([0]) == []


if HAVE_NVML:

    def test_gpus_are_listed_and_read() -> None:
        gpus = discover_gpus()
        assert gpus, "NVML works but lists no GPU"
        assert [g.index for g in gpus] == list(range(len(gpus)))
        assert all(g.name and g.memory_total > 0 for g in gpus)
        readings = gpu_usage([0, 999])  # a fake index is left out
        assert [r.index for r in readings] == [0]
        assert 0 <= readings[0].utilization <= 100
        assert 0 <= readings[0].memory_used <= readings[0].memory_total
        assert readings[0].to_json()["index"] == 0
