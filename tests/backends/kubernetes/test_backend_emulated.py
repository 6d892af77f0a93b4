"""KubernetesBackend's whole job lifecycle against the emulator of tests/k8s.

kubernetes_asyncio talks HTTP to :class:`tests.k8s.emulator.KubernetesEmulator`
through the kubeconfig in ``$KUBECONFIG`` (as kubectl would); the emulated
kubelet runs each pod's command as a real local process, so output, exit
codes, signals and exec are real. What the emulator does not emulate is listed
in tests/k8s/__init__.py; the backend's reading of single pod events is in
test_backend_events.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api

from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.jobs.model import (
    Job,
    JobSpec,
    JobStatus,
    Preset,
    Reason,
    RestartPolicy,
    StatusItem,
)
from neuro_jupyter.service import JobService
from neuro_jupyter.store import JobStore
from tests.backends.utils import SMALL, Recorder, make_job
from tests.k8s.emulator import KubernetesEmulator
from tests.k8s.helpers import create, pod_manifest
from tests.k8s.kubelet import KubeletConfig
from tests.utils import wait_for

GPU = Preset("gpu-small", 1, 1 << 30, gpu=1)
UNSCHEDULABLE = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."

MakeBackend = Callable[..., Awaitable[KubernetesBackend]]


@pytest.fixture
async def make_backend(
    k8s_kubeconfig: Path,
    tmp_path: Path,
) -> AsyncIterator[MakeBackend]:
    """Backends on one jobs_dir, connected through $KUBECONFIG; shut down at teardown."""
    backends: list[KubernetesBackend] = []

    async def make(**traits: Any) -> KubernetesBackend:
        traits.setdefault("kill_grace_period", 2)
        backend = KubernetesBackend(jobs_dir=str(tmp_path / "jobs"), **traits)
        await backend.setup()
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.shutdown()


@pytest.fixture
async def backend(make_backend: MakeBackend) -> KubernetesBackend:
    return await make_backend()


@pytest.fixture
async def recorder(backend: KubernetesBackend) -> AsyncIterator[Recorder]:
    recorder = Recorder(backend)  # type: ignore[arg-type]
    yield recorder
    await recorder.close()


async def read_all(backend: KubernetesBackend, job: Job, follow: bool = False) -> bytes:
    return b"".join([chunk async for chunk in backend.logs(job, follow=follow)])


def statuses(recorder: Recorder, job: Job) -> list[tuple[JobStatus, str]]:
    return [(i.status, i.reason) for i in recorder.items(job.id)]


async def test_a_job_runs_and_succeeds(
    backend: KubernetesBackend,
    recorder: Recorder,
    k8s: KubernetesEmulator,
) -> None:
    job = make_job("sh -c 'echo hello; sleep 0.5; echo world'")
    await backend.start(job)
    await backend.start(job)  # twice: the pod exists (409), nothing more
    assert backend.namespace_in_use == "default"
    await recorder.until(job.id, JobStatus.RUNNING)
    item = await recorder.end(job.id)
    assert (item.status, item.exit_code) == (JobStatus.SUCCEEDED, 0)
    assert statuses(recorder, job)[0][0] is JobStatus.PENDING
    assert [s for s, _ in statuses(recorder, job)][-2:] == [JobStatus.RUNNING, JobStatus.SUCCEEDED]
    log = await asyncio.wait_for(read_all(backend, job, follow=True), 10)
    assert log == b"hello\nworld\n"
    # A job's life: two posts (one 409), one list, one watch, one log stream.
    counts: dict[str, int] = {}
    for r in k8s.requests:
        key = f"{r.method} {r.path.rsplit('/', 1)[-1]}{' watch' if r.watch else ''}"
        counts[key] = counts.get(key, 0) + 1
    assert counts == {"POST pods": 2, "GET pods": 1, "GET pods watch": 1, "GET log": 1}
    assert len(k8s.open_watches) == 1


async def test_a_failed_command_ends_failed_with_its_exit_code(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    job = make_job("sh -c 'echo oops >&2; exit 3'")
    await backend.start(job)
    item = await recorder.end(job.id)
    assert (item.status, item.reason, item.exit_code) == (JobStatus.FAILED, Reason.ERROR, 3)
    assert await asyncio.wait_for(read_all(backend, job, follow=True), 10) == b"oops\n"


async def test_a_kill_sends_sigterm_and_ends_cancelled(
    backend: KubernetesBackend, recorder: Recorder, tmp_path: Path
) -> None:
    marker = tmp_path / "got-term"
    job = make_job(
        f"sh -c 'trap \"touch {marker}; exit 0\" TERM; echo up; while :; do sleep 0.1; done'"
    )
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    await backend.kill(job, Reason.USER_REQUESTED)
    item = await recorder.end(job.id)
    assert (item.status, item.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
    await wait_for(marker.exists, 10)  # SIGTERM reached the command
    assert (tmp_path / "jobs" / job.id / "killed").read_text() == Reason.USER_REQUESTED
    await backend.kill(job, Reason.USER_REQUESTED)  # a second kill: nothing to do


async def test_a_pod_past_its_deadline_ends_cancelled_life_span_ended(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(life_span_margin=0)
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        job = make_job("sleep 30", life_span=1)
        await backend.start(job)
        item = await recorder.end(job.id)
        assert (item.status, item.reason) == (JobStatus.CANCELLED, Reason.LIFE_SPAN_ENDED)
    finally:
        await recorder.close()


def make_service(backend: KubernetesBackend, tmp_path: Path) -> JobService:
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    return JobService(store, backend, [SMALL, GPU], life_span_check_interval=0.1)


async def test_the_services_life_span_kill_and_a_bump_on_a_running_pod(
    make_backend: MakeBackend, tmp_path: Path
) -> None:
    backend = KubernetesBackend(jobs_dir=str(tmp_path / "jobs"), kill_grace_period=1)
    service = make_service(backend, tmp_path)
    await service.ready()
    try:
        spec = {"image": "u", "command": "sleep 60", "life_span": "2s"}
        bumped = await service.create("alice", {**spec, "name": "bumped"})
        ended = await service.create("alice", {**spec, "name": "ended"})
        await service.wait_for(bumped.id, lambda j: j.status is JobStatus.RUNNING, 15)
        service.bump_life_span("alice", bumped.id, "1h")
        ended = await service.wait_for(ended.id, lambda j: j.status.is_finished, 15)
        assert (ended.status, ended.reason) == (JobStatus.CANCELLED, Reason.LIFE_SPAN_ENDED)
        await asyncio.sleep(0.5)  # well past the first life span: the bumped job runs on
        job = service.store.get(bumped.id)
        assert job is not None and job.status is JobStatus.RUNNING
        assert job.run_time() > 2
    finally:
        for job in service.store.live_jobs():
            await service.kill(job.owner, job.id, wait=10)
        await service.close()


@pytest.fixture
def k8s_config(tmp_path: Path) -> KubeletConfig:
    """One CPU node without GPUs; quick image back-offs."""
    return KubeletConfig(state_dir=tmp_path / "kubelet", image_backoff=0.2)


async def test_a_gpu_job_beyond_capacity_waits_with_the_schedulers_message(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    job = make_job("true", GPU)
    await backend.start(job)
    await wait_for(lambda: (JobStatus.PENDING, Reason.SCHEDULING) in statuses(recorder, job), 10)
    await wait_for(lambda: recorder.items(job.id)[-1].description.startswith(UNSCHEDULABLE), 10)
    await asyncio.sleep(0.3)
    assert not recorder.items(job.id)[-1].status.is_finished
    await backend.kill(job, Reason.USER_REQUESTED)
    item = await recorder.end(job.id)
    assert (item.status, item.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)


async def test_an_unschedulable_job_fails_after_the_schedule_timeout(
    make_backend: MakeBackend,
    k8s: KubernetesEmulator,
) -> None:
    backend = await make_backend(schedule_timeout=1.0)
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        job = make_job("true", GPU)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await backend.start(job)
        item = await recorder.end(job.id)
        took = loop.time() - started
        assert (item.status, item.reason) == (JobStatus.FAILED, "Unschedulable")
        assert UNSCHEDULABLE in item.description
        assert "after 1 s" in item.description
        assert 1.0 <= took < 5.0  # the clock runs from when the pod got stuck
        await wait_for(lambda: k8s.count(method="DELETE") == 1, 10)  # the pod is deleted
    finally:
        await recorder.close()


async def test_an_image_that_cannot_be_pulled_fails_after_the_schedule_timeout(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(schedule_timeout=1.5)
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        job = Job.create("alice", JobSpec(image="does-not-exist:1", command="true"), SMALL)
        await backend.start(job)
        item = await recorder.end(job.id)
        reasons = [r for _, r in statuses(recorder, job)]
        assert "ErrImagePull" in reasons
        assert "ImagePullBackOff" in reasons
        assert item.status is JobStatus.FAILED
        assert item.reason in ("ErrImagePull", "ImagePullBackOff")
        assert "does-not-exist" in item.description
    finally:
        await recorder.close()


async def test_logs_follow_across_a_restart_and_outlive_the_pod(
    backend: KubernetesBackend,
    recorder: Recorder,
    tmp_path: Path,
    k8s: KubernetesEmulator,
) -> None:
    counter = tmp_path / "runs"
    script = (
        f"echo run >> {counter}; n=$(wc -l < {counter}); echo attempt $n; sleep 0.3; [ $n -ge 2 ]"
    )
    job = make_job(f"sh -c '{script}'", restart=RestartPolicy.ON_FAILURE)
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    follower = asyncio.ensure_future(read_all(backend, job, follow=True))
    item = await recorder.end(job.id, timeout=20)
    assert item.status is JobStatus.SUCCEEDED
    assert (JobStatus.RUNNING, Reason.RESTARTING) in statuses(recorder, job)
    expected = b"attempt 1\nattempt 2\n"
    assert await asyncio.wait_for(follower, 10) == expected
    # The pod is deleted (garbage collected): the archive still serves the log.
    await backend._delete(job.id, 0)
    await asyncio.sleep(0.2)
    assert await read_all(backend, job) == expected
    assert await read_all(backend, job, follow=True) == expected


async def test_exec_gives_output_and_exit_codes(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    job = make_job("sleep 60")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    session = await backend.exec(job, ["sh", "-c", "echo inside; exit 4"])
    output = b""
    while chunk := await session.read():
        output += chunk
    assert output == b"inside\n"
    assert await session.wait() == 4
    ok = await backend.exec(job, ["true"])
    assert await ok.wait() == 0
    missing = await backend.exec(job, ["no-such-command-here"])
    output = b""
    while chunk := await missing.read():
        output += chunk
    assert await missing.wait() in (126, 127)
    assert b"no-such-command-here" in output


async def test_exec_with_a_tty_takes_input_and_resizes(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    """With ``tty``, the command sees a terminal: input echoes, lines end ``\r\n``."""
    job = make_job("sleep 60")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    session = await backend.exec(
        job, ["sh", "-c", "test -t 0 && read line && echo got $line"], tty=True
    )
    session.resize(40, 100)
    await session.write(b"hello\n")
    output = b""
    while chunk := await session.read():
        output += chunk
    assert b"got hello\r\n" in output, output
    assert await session.wait() == 0


async def test_telemetry_samples_the_running_command(
    backend: KubernetesBackend, recorder: Recorder
) -> None:
    job = make_job("sh -c 'while :; do :; done'")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    samples = []
    async for sample in backend.telemetry(job, interval=0.2):
        samples.append(sample)
        if len(samples) == 3:
            break
    assert all(s.memory > 0 for s in samples)
    assert max(s.cpu for s in samples) > 10


async def test_a_restarted_server_keeps_its_jobs_and_reports_vanished_pods(
    make_backend: MakeBackend,
    k8s: KubernetesEmulator,
    k8s_api: ApiClient,
    tmp_path: Path,
) -> None:
    first = await make_backend()
    first_recorder = Recorder(first)  # type: ignore[arg-type]
    go = tmp_path / "go"
    kept = make_job(f"sh -c 'echo before; while [ ! -e {go} ]; do sleep 0.05; done; echo after'")
    lost = make_job("sleep 60")
    await first.start(kept)
    await first.start(lost)
    await first_recorder.until(kept.id, JobStatus.RUNNING)
    await first_recorder.until(lost.id, JobStatus.RUNNING)
    output = tmp_path / "jobs" / kept.id / "output.log"
    await wait_for(lambda: output.exists() and output.read_bytes() == b"before\n", 10)
    await first_recorder.close()
    await first.shutdown()
    # While no server watches: one pod is deleted, the other goes on.
    core = CoreV1Api(k8s_api)
    await core.delete_namespaced_pod(lost.id, "default", grace_period_seconds=0)
    go.touch()
    posts = k8s.count(method="POST")
    stored = [j.transition(StatusItem(JobStatus.RUNNING)) for j in (kept, lost)]
    second = await make_backend()
    recorder = Recorder(second)  # type: ignore[arg-type]
    try:
        await second.reconcile(stored)
        item = await recorder.end(lost.id)
        assert (item.status, item.reason) == (JobStatus.FAILED, "PodVanished")
        item = await recorder.end(kept.id)
        assert item.status is JobStatus.SUCCEEDED
        assert statuses(recorder, kept) == [(JobStatus.SUCCEEDED, "")]
        log = await asyncio.wait_for(read_all(second, stored[0], follow=True), 10)
        assert log == b"before\nafter\n"  # resumed, nothing archived twice
        assert k8s.count(method="POST") == posts  # nothing started again
    finally:
        await recorder.close()


async def test_the_watch_lists_again_after_410_gone(
    backend: KubernetesBackend,
    recorder: Recorder,
    k8s: KubernetesEmulator,
    k8s_api: ApiClient,
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    job = make_job(f"sh -c 'while [ ! -e {go} ]; do sleep 0.05; done'")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)

    def pod_lists() -> list[Any]:  # the pod log's GET, made whenever it is, not counted
        return [r for r in k8s.requests if r.path.endswith("/pods") and r.method == "GET"]

    lists = sum(not r.watch for r in pod_lists())
    # Another pod moves the server's resourceVersion past the one the watch saw.
    await create(CoreV1Api(k8s_api), pod_manifest("other", ["true"]))
    k8s.compact()
    k8s.end_watches()  # the watch is renewed from a version the server has dropped
    go.touch()
    item = await recorder.end(job.id)
    assert item.status is JobStatus.SUCCEEDED
    relisted = pod_lists()
    assert sum(not r.watch for r in relisted) == lists + 1
    assert 410 in [r.status for r in relisted] or any(r.watch and r.status == 200 for r in relisted)
    await wait_for(lambda: len(k8s.open_watches) == 1, 10)
