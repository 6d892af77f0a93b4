"""GPU telemetry from a DCGM exporter: the scrape's parser; the backend with a fake exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp import web
from traitlets import TraitError

from neuro_jupyter.backends.base import TelemetrySample
from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.backends.kubernetes.dcgm import MIB, DcgmGpu, parse_pod_gpus, with_gpus
from neuro_jupyter.backends.kubernetes.metadata import pod_name
from neuro_jupyter.jobs.model import Job, JobStatus, Preset
from tests.backends.utils import Recorder, make_job
from tests.k8s.kubelet import KubeletConfig
from tests.k8s.scheduler import Node

GPU = Preset("gpu-small", 1, 1 << 30, gpu=1)
LABELS = (
    'Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="550.54.15",modelName="NVIDIA A100-SXM4-80GB"'
)


def gpu(index: int, pod: str | None, namespace: str = "jobs") -> str:
    """One GPU's labels, as dcgm-exporter 3.x writes them."""
    pod_labels = f',container="job",namespace="{namespace}",pod="{pod}"' if pod else ""
    return (
        f'gpu="{index}",UUID="GPU-{index:04d}",pci_bus_id="00000000:0{index}:00.0",'
        f'device="nvidia{index}",{LABELS}{pod_labels}'
    )


def payload(pods: dict[int, str | None], util: float = 40.0, namespace: str = "jobs") -> str:
    """A scrape of one node whose GPU ``i`` is held by ``pods[i]`` (None: no pod labels)."""
    lines = []
    for name, help_text, value in [
        ("DCGM_FI_DEV_SM_CLOCK", "SM frequency (in MHz).", lambda i: 1410),
        ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda i: util + 10 * i),
        ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", lambda i: 80000 - 1000 * i),
        ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", lambda i: 1000 * i + 512),
        ("DCGM_FI_DEV_FB_RESERVED", "Framebuffer memory reserved (in MiB).", lambda i: 487),
    ]:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{{{gpu(i, pod, namespace)}}} {value(i)}" for i, pod in pods.items()]
    lines += [
        "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).",
        "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter",
        f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{gpu(0, pods.get(0))}}} 123456789",
    ]
    return "\n".join(lines) + "\n"


# -- the parser ---------------------------------------------------------------

NODE = payload({0: "job-a", 1: "job-b", 2: "job-a", 3: None})


def test_the_pods_gpus_come_by_index_with_utilisation_and_memory_in_bytes() -> None:
    gpus = parse_pod_gpus(NODE, "jobs", "job-a")
    assert gpus == [
        DcgmGpu("GPU-0000", 0, "NVIDIA A100-SXM4-80GB", 40.0, 512 * MIB, 80999 * MIB),
        DcgmGpu("GPU-0002", 2, "NVIDIA A100-SXM4-80GB", 60.0, 2512 * MIB, 80999 * MIB),
    ]


def test_other_pods_namespaces_and_series_without_pod_labels_are_ignored() -> None:
    assert [g.index for g in parse_pod_gpus(NODE, "jobs", "job-b")] == [1]
    assert parse_pod_gpus(NODE, "other", "job-a") == []
    assert parse_pod_gpus(NODE, "jobs", "job-c") == []
    assert parse_pod_gpus(payload({0: None, 1: None}), "jobs", "") == []


def test_missing_and_nan_series_leave_their_fields_none() -> None:
    text = (
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
        f"DCGM_FI_DEV_GPU_UTIL{{{gpu(0, 'job-a')}}} NaN\n"
        "# TYPE DCGM_FI_DEV_FB_USED gauge\n"
        f"DCGM_FI_DEV_FB_USED{{{gpu(0, 'job-a')}}} 100\n"
    )
    assert parse_pod_gpus(text, "jobs", "job-a") == [
        DcgmGpu("GPU-0000", 0, "NVIDIA A100-SXM4-80GB", None, 100 * MIB, None)
    ]


def test_an_empty_scrape_has_no_gpus_and_a_malformed_one_raises() -> None:
    assert parse_pod_gpus("", "jobs", "job-a") == []
    with pytest.raises(ValueError):
        parse_pod_gpus("DCGM_FI_DEV_GPU_UTIL{gpu=0} forty\n", "jobs", "job-a")


def test_the_sample_averages_utilisation_and_sums_memory() -> None:
    sample = TelemetrySample(at=datetime.now(timezone.utc), cpu=50.0, memory=1 << 30)
    gpus = parse_pod_gpus(NODE, "jobs", "job-a")
    with_gpu = with_gpus(sample, gpus)
    assert (with_gpu.cpu, with_gpu.memory) == (50.0, 1 << 30)
    assert with_gpu.gpu_utilization == 50.0
    assert with_gpu.gpu_memory == 3024 * MIB
    assert [g["index"] for g in with_gpu.gpus] == [0, 2]
    assert with_gpu.gpus[0]["uuid"] == "GPU-0000"
    empty = with_gpus(sample, [])
    assert (empty.gpu_utilization, empty.gpu_memory, empty.gpus) == (None, None, ())


# -- the backend against the emulator and a fake exporter ---------------------


@pytest.fixture
def k8s_config(tmp_path: Path) -> KubeletConfig:
    """One node with two GPUs."""
    return KubeletConfig(state_dir=tmp_path / "kubelet", nodes=[Node("gpu-node-1", gpus=2)])


Scrape = Callable[[], str]


@pytest.fixture
async def exporter() -> AsyncIterator[tuple[str, list[Scrape]]]:
    """A fake dcgm-exporter: its URL and a one-item list holding what it serves."""
    serving: list[Scrape] = [lambda: ""]

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=serving[0](), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://{{host_ip}}:{port}/metrics", serving
    await runner.cleanup()


@pytest.fixture
async def make_backend(
    k8s_kubeconfig: Path, tmp_path: Path
) -> AsyncIterator[Callable[..., KubernetesBackend]]:
    backends: list[KubernetesBackend] = []

    def make(**traits: object) -> KubernetesBackend:
        backend = KubernetesBackend(jobs_dir=str(tmp_path / "jobs"), kill_grace_period=1, **traits)
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.shutdown()


async def samples_of(backend: KubernetesBackend, job: Job, n: int = 2) -> list[TelemetrySample]:
    await backend.setup()
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        await backend.start(job)
        await recorder.until(job.id, JobStatus.RUNNING)
        samples: list[TelemetrySample] = []
        async for sample in backend.telemetry(job, interval=0.1):
            samples.append(sample)
            if len(samples) == n:
                break
        return samples
    finally:
        await recorder.close()


async def test_a_gpu_jobs_samples_carry_its_gpus_from_the_exporter(
    make_backend: Callable[..., KubernetesBackend], exporter: tuple[str, list[Scrape]]
) -> None:
    url, serving = exporter
    job = make_job("sleep 30", GPU)
    serving[0] = lambda: payload({0: pod_name(job.id), 1: "someone-else"}, 70.0, "default")
    samples = await samples_of(make_backend(dcgm_exporter_url=url), job)
    assert all(s.memory > 0 for s in samples)
    assert all(s.gpu_utilization == 70.0 for s in samples)
    assert all(s.gpu_memory == 512 * MIB for s in samples)
    assert [g["index"] for g in samples[0].gpus] == [0]


async def test_without_the_exporter_or_when_it_fails_gpu_fields_are_none(
    make_backend: Callable[..., KubernetesBackend],
    exporter: tuple[str, list[Scrape]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, serving = exporter
    job = make_job("sleep 30", GPU)
    serving[0] = lambda: payload({0: pod_name(job.id)}, 70.0, "default")
    unset = await samples_of(make_backend(), job)
    assert all(s.memory > 0 and s.gpu_utilization is None and s.gpu_memory is None for s in unset)

    broken = make_job("sleep 30", GPU)
    serving[0] = lambda: "not { the exposition format\n"
    samples = await samples_of(make_backend(dcgm_exporter_url=url), broken, 3)
    assert all(s.memory > 0 and s.gpu_utilization is None for s in samples)
    assert sum("no GPU telemetry" in r.message for r in caplog.records) == 1


async def test_a_cpu_job_never_scrapes_the_exporter(
    make_backend: Callable[..., KubernetesBackend], exporter: tuple[str, list[Scrape]]
) -> None:
    url, serving = exporter
    scrapes: list[int] = []
    serving[0] = lambda: str(scrapes.append(1) or "")
    samples = await samples_of(make_backend(dcgm_exporter_url=url), make_job("sleep 30"))
    assert samples and scrapes == []


def test_the_exporter_url_must_be_http() -> None:
    assert KubernetesBackend(dcgm_exporter_url="http://{host_ip}:9400/metrics").dcgm_exporter_url
    with pytest.raises(TraitError, match="dcgm_exporter_url"):
        KubernetesBackend(dcgm_exporter_url="dcgm-exporter:9400")
