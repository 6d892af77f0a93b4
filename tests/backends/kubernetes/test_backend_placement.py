"""KubernetesBackend against the emulator: memory limits, spot placement, the proxy endpoint.

As in test_backend_emulated.py the emulated kubelet runs each pod's command as
a real local process; here the cluster starts with one small on-demand node
(``node-1``, 2 CPUs, 4Gi, no GPU, no spot label) and tests add nodes to it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio.client import ApiClient

from neuro_jupyter.backends.base import Endpoint
from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.backends.kubernetes.conventions import CONVENTIONS
from neuro_jupyter.jobs.model import HttpSpec, Job, JobStatus, Preset, Reason
from tests.backends.utils import Recorder, make_job
from tests.k8s.emulator import KubernetesEmulator
from tests.k8s.helpers import wait_pod
from tests.k8s.kubelet import KubeletConfig, Node
from tests.real_server import free_port
from tests.utils import wait_for

TINY = Preset("cpu-tiny", 0.5, 64 << 20)
SPOT = Preset("cpu-spot", 0.5, 256 << 20, preemptible=True)
GPU = Preset("gpu-small", 1, 1 << 30, gpu=1)
GENERIC = CONVENTIONS["generic"]
"""The default conventions: spot nodes labelled and tainted ``neuro-jupyter/preemptible``."""


@pytest.fixture
def k8s_config(tmp_path: Path) -> KubeletConfig:
    """One small on-demand node; memory limits checked every 0.1 s."""
    return KubeletConfig(
        nodes=[Node("node-1", cpu=2, memory="4Gi")],
        state_dir=tmp_path / "kubelet",
        memory_check_interval=0.1,
    )


@pytest.fixture
async def backend(k8s_kubeconfig: Path, tmp_path: Path) -> AsyncIterator[KubernetesBackend]:
    backend = KubernetesBackend(
        jobs_dir=str(tmp_path / "jobs"), kill_grace_period=2, schedule_timeout=1.5
    )
    await backend.setup()
    yield backend
    await backend.shutdown()


@pytest.fixture
async def recorder(backend: KubernetesBackend) -> AsyncIterator[Recorder]:
    recorder = Recorder(backend)  # type: ignore[arg-type]
    yield recorder
    await recorder.close()


def last(recorder: Recorder, job: Job) -> tuple[JobStatus, str, str]:
    """The job's last reported status, reason and description."""
    items = recorder.items(job.id)
    if not items:
        return JobStatus.PENDING, "", ""
    return items[-1].status, items[-1].reason, items[-1].description


async def test_a_job_over_its_presets_memory_is_oom_killed(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    # 64 MiB of memory; the command holds 256 MiB until it is killed.
    grow = "import time; x = bytearray(256 << 20); time.sleep(30)"
    job = make_job(f'{sys.executable} -c "{grow}"', TINY)
    await backend.start(job)
    item = await recorder.end(job.id)
    assert (item.status, item.reason, item.exit_code) == (JobStatus.FAILED, Reason.OOM_KILLED, 137)


async def test_a_preemptible_job_waits_for_a_spot_node_and_runs_on_it(
    backend: KubernetesBackend,
    recorder: Recorder,
    k8s: KubernetesEmulator,
    k8s_api: ApiClient,
) -> None:
    job = make_job("sleep 60", SPOT)
    await backend.start(job)
    await wait_for(lambda: "node affinity/selector" in last(recorder, job)[2], 10)
    status, reason, description = last(recorder, job)
    assert (status, reason) == (JobStatus.PENDING, Reason.SCHEDULING)
    assert description.startswith("0/1 nodes are available: 1 node(s) didn't match")
    assert GENERIC.spot_taint is not None
    taint = GENERIC.spot_taint
    k8s.add_node(
        Node(
            "spot-1",
            cpu=4,
            memory="8Gi",
            labels={GENERIC.spot_label: GENERIC.spot_value},
            taints=[{"key": taint.key, "value": taint.value, "effect": taint.effect}],
        )
    )
    await recorder.until(job.id, JobStatus.RUNNING)
    pod = await wait_pod(k8s_api, job.id, lambda p: p["spec"].get("nodeName"))
    assert pod["spec"]["nodeName"] == "spot-1"
    # An on-demand job does not tolerate the spot node's taint: with node-1 too small,
    # the scheduler names both.
    big = make_job("sleep 60", Preset("cpu-big", 3, 1 << 30))
    await backend.start(big)
    await wait_for(lambda: "untolerated taint" in last(recorder, big)[2], 10)
    assert f"untolerated taint {{{taint.key}: {taint.value}}}" in last(recorder, big)[2]
    assert "1 Insufficient cpu" in last(recorder, big)[2]
    for each in (job, big):
        await backend.kill(each, Reason.USER_REQUESTED)
        await recorder.end(each.id)


async def test_a_stuck_job_that_becomes_schedulable_in_time_does_not_time_out(
    backend: KubernetesBackend, recorder: Recorder, k8s: KubernetesEmulator
) -> None:
    job = make_job("sleep 60", GPU)
    await backend.start(job)
    await wait_for(lambda: "Insufficient nvidia.com/gpu" in last(recorder, job)[2], 10)
    k8s.add_node(Node("gpu-1", cpu=4, memory="8Gi", gpus=1))
    await recorder.until(job.id, JobStatus.RUNNING)
    await asyncio.sleep(backend.schedule_timeout + 0.5)  # past the timeout: it runs on
    assert last(recorder, job)[0] is JobStatus.RUNNING
    assert k8s.count(method="DELETE") == 0
    await backend.kill(job, Reason.USER_REQUESTED)
    item = await recorder.end(job.id)
    assert (item.status, item.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)


async def test_the_endpoint_is_the_pods_ip_and_http_port_while_it_runs(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    port = free_port()
    serve = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    job = make_job(serve, TINY, http=HttpSpec(port=port))
    assert await backend.endpoint(job) is None  # not started
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    assert await backend.endpoint(job) == Endpoint("127.0.0.1", port)  # every pod's IP here
    await backend.kill(job, Reason.USER_REQUESTED)
    await recorder.end(job.id)
    assert await backend.endpoint(job) is None
    without = make_job("sleep 60", TINY)
    await backend.start(without)
    await recorder.until(without.id, JobStatus.RUNNING)
    assert await backend.endpoint(without) is None  # no HTTP port
    await backend.kill(without, Reason.USER_REQUESTED)
    await recorder.end(without.id)
