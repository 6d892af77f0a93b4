"""KubernetesBackend's reading of pod events, fed directly (no API server).

The lifecycle against the emulator over HTTP is in test_backend_emulated.py; here the
rules: one event per change, who deleted a pod, the schedule timeout.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.backends.base import Backend, StatusEvent
from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.backends.kubernetes.backend import (
    KILL_REASON_ANNOTATION,
    _exit_code,
    _sample,
)
from neuro_jupyter.backends.kubernetes.metadata import pod_annotations, pod_labels
from neuro_jupyter.backends.kubernetes.status import POD_VANISHED
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Job, JobSpec, JobStatus, Reason, StatusItem
from tests.backends.utils import SMALL, make_job

UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


class Recording(KubernetesBackend):
    """Records deletions instead of sending them."""

    deleted: list[tuple[str, int]]

    async def _delete(self, job_id: str, grace: int) -> bool:
        self.deleted.append((job_id, grace))
        return True


def make(tmp_path: Path, **traits: Any) -> Recording:
    backend = Recording(jobs_dir=str(tmp_path), **traits)
    backend.deleted = []
    return backend


def pod(job: Job, phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": pod_labels(job), "annotations": pod_annotations(job)},
        "status": {"phase": phase, **status},
    }


def containers(state: dict[str, Any], restarts: int = 0) -> list[dict[str, Any]]:
    return [{"name": "job", "restartCount": restarts, "state": state}]


def drain(backend: KubernetesBackend) -> list[StatusItem]:
    queue: asyncio.Queue[StatusEvent] = backend._events
    items = []
    while not queue.empty():
        items.append(queue.get_nowait().item)
    return items


def brief(items: list[StatusItem]) -> list[tuple[str, str]]:
    return [(i.status.value, i.reason) for i in items]


async def test_the_backend_is_a_backend(tmp_path: Path) -> None:
    backend = make(tmp_path, capacity_cpu=8.0, capacity_memory=32 << 30)
    assert isinstance(backend, Backend)
    assert backend.capacity().cpu == 8.0
    assert backend.capacity().free_memory == 32 << 30


async def test_check_refuses_what_no_pod_can_run(tmp_path: Path) -> None:
    backend = make(tmp_path)
    backend.check("alice", JobSpec(image="python", command="echo hi"), SMALL)
    with pytest.raises(InvalidSpec, match="cannot be split"):
        backend.check("alice", JobSpec(image="python", command="echo 'x"), SMALL)


async def test_one_event_per_change(tmp_path: Path) -> None:
    backend = make(tmp_path)
    job = make_job("true")
    backend._track(job)
    backend._observe(job.id, pod(job, "Pending"))
    backend._observe(job.id, pod(job, "Pending"))  # unchanged: no event
    running = containers({"running": {}})
    backend._observe(job.id, pod(job, "Running", containerStatuses=running, podIP="10.0.0.5"))
    backend._observe(job.id, pod(job, "Running", containerStatuses=running, podIP="10.0.0.5"))
    done = containers({"terminated": {"exitCode": 0}})
    backend._observe(job.id, pod(job, "Succeeded", containerStatuses=done))
    backend._deleted(job.id, pod(job, "Succeeded", containerStatuses=done))  # GC: no event
    assert brief(drain(backend)) == [
        ("pending", Reason.SCHEDULING),
        ("running", ""),
        ("succeeded", ""),
    ]


async def test_a_pod_deleted_by_someone_else_vanished(tmp_path: Path) -> None:
    backend = make(tmp_path)
    job = make_job("sleep 100")
    backend._track(job)
    running = pod(job, "Running", containerStatuses=containers({"running": {}}))
    backend._observe(job.id, running)
    gone = pod(job, "Failed", containerStatuses=containers({"terminated": {"exitCode": 143}}))
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    backend._observe(job.id, gone)
    backend._deleted(job.id, gone)
    assert brief(drain(backend)) == [("running", ""), ("failed", POD_VANISHED)]


async def test_a_pod_killed_by_a_server_before_a_restart_is_cancelled(tmp_path: Path) -> None:
    backend = make(tmp_path)
    job = make_job("sleep 100")
    backend._track(job)
    killed = pod(job, "Failed", containerStatuses=containers({"terminated": {"exitCode": 143}}))
    killed["metadata"]["annotations"][KILL_REASON_ANNOTATION] = Reason.LIFE_SPAN_ENDED
    backend._observe(job.id, killed)
    [item] = drain(backend)
    assert (item.status, item.reason, item.exit_code) == (
        JobStatus.CANCELLED,
        Reason.LIFE_SPAN_ENDED,
        143,
    )


async def test_a_kill_reason_recorded_on_disk_survives_the_pod(tmp_path: Path) -> None:
    backend = make(tmp_path)
    job = make_job("sleep 100").transition(StatusItem(JobStatus.RUNNING))
    (tmp_path / job.id).mkdir()
    (tmp_path / job.id / "killed").write_text(Reason.USER_REQUESTED)
    backend._synced = None
    await backend.reconcile([job])  # no pod: vanished, but we killed it
    assert brief(drain(backend)) == [("cancelled", Reason.USER_REQUESTED)]
    other = make_job("sleep 100").transition(StatusItem(JobStatus.RUNNING))
    await backend.reconcile([other])
    [item] = drain(backend)
    assert (item.status, item.reason) == (JobStatus.FAILED, POD_VANISHED)


async def test_a_job_stuck_past_the_schedule_timeout_fails_and_its_pod_goes(
    tmp_path: Path,
) -> None:
    backend = make(tmp_path, schedule_timeout=0.05)
    job = make_job("true")
    backend._track(job)
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": UNSCHEDULABLE,
    }
    backend._observe(job.id, pod(job, "Pending", conditions=[condition]))
    await asyncio.sleep(0.2)
    items = drain(backend)
    assert brief(items) == [("pending", Reason.SCHEDULING), ("failed", "Unschedulable")]
    assert UNSCHEDULABLE in items[-1].description
    assert backend.deleted == [(job.id, 0)]


async def test_a_pod_that_gets_unstuck_in_time_keeps_going(tmp_path: Path) -> None:
    backend = make(tmp_path, schedule_timeout=0.1)
    job = make_job("true")
    backend._track(job)
    waiting = containers({"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}})
    backend._observe(job.id, pod(job, "Pending", containerStatuses=waiting))
    backend._observe(job.id, pod(job, "Running", containerStatuses=containers({"running": {}})))
    await asyncio.sleep(0.2)
    assert brief(drain(backend)) == [("pending", "ImagePullBackOff"), ("running", "")]
    assert backend.deleted == []


def test_exec_status_frames_carry_the_exit_code() -> None:
    assert _exit_code(json.dumps({"status": "Success"}).encode()) == 0
    failure = {
        "status": "Failure",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert _exit_code(json.dumps(failure).encode()) == 3


def test_pod_metrics_read_as_a_sample() -> None:
    metrics = {
        "timestamp": "2026-01-01T00:00:00Z",
        "containers": [{"name": "job", "usage": {"cpu": "1500m", "memory": "2Mi"}}],
    }
    sample = _sample(metrics)
    assert sample.cpu == pytest.approx(150.0)
    assert sample.memory == 2 << 20
