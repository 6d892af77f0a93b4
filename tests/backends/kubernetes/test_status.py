"""Pods' states as job statuses: every state the backend's watch meets."""

from __future__ import annotations

from typing import Any

import pytest

from neuro_jupyter.backends.kubernetes.status import (
    POD_VANISHED,
    deleted_status,
    pod_status,
    stuck,
    timed_out_status,
)
from neuro_jupyter.jobs.model import JobStatus, Reason, StatusItem

OOM = "the job used more than its memory limit"
UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


def pod(phase: str = "Pending", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "job-x"}, "status": {"phase": phase, **status}}


def container(state: dict[str, Any], restarts: int = 0) -> list[dict[str, Any]]:
    return [{"name": "job", "ready": False, "restartCount": restarts, "state": state}]


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    return {"waiting": {"reason": reason, "message": message}}


def terminated(code: int, reason: str = "Error", message: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"exitCode": code, "reason": reason}
    if message is not None:
        details["message"] = message
    return {"terminated": details}


UNSCHEDULED = [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": UNSCHEDULABLE}
]
SCHEDULED = [{"type": "PodScheduled", "status": "True"}]


@pytest.mark.parametrize(
    ("the_pod", "expected"),
    [
        (pod(), StatusItem(JobStatus.PENDING, Reason.SCHEDULING)),
        ({"metadata": {}}, StatusItem(JobStatus.PENDING, Reason.SCHEDULING)),
        (
            pod(conditions=UNSCHEDULED),
            StatusItem(JobStatus.PENDING, Reason.SCHEDULING, UNSCHEDULABLE),
        ),
        (pod(conditions=SCHEDULED), StatusItem(JobStatus.PENDING, Reason.CONTAINER_CREATING)),
        (
            pod(conditions=SCHEDULED, containerStatuses=container(waiting("ContainerCreating"))),
            StatusItem(JobStatus.PENDING, Reason.CONTAINER_CREATING),
        ),
        (
            pod(containerStatuses=container(waiting("ErrImagePull", "not found: nope:1"))),
            StatusItem(JobStatus.PENDING, "ErrImagePull", "not found: nope:1"),
        ),
        (
            pod(containerStatuses=container(waiting("ImagePullBackOff", "Back-off pulling"))),
            StatusItem(JobStatus.PENDING, "ImagePullBackOff", "Back-off pulling"),
        ),
        (
            pod("Running", containerStatuses=container({"running": {"startedAt": "t"}})),
            StatusItem(JobStatus.RUNNING),
        ),
        (
            pod("Running", containerStatuses=container(waiting("CrashLoopBackOff", "back-off"), 2)),
            StatusItem(JobStatus.RUNNING, Reason.RESTARTING, "back-off"),
        ),
        (
            pod("Running", containerStatuses=container({"running": {}}, 1)),
            StatusItem(JobStatus.RUNNING, Reason.RESTARTING),
        ),
        (
            pod("Succeeded", containerStatuses=container(terminated(0, "Completed"))),
            StatusItem(JobStatus.SUCCEEDED, exit_code=0),
        ),
        (
            pod("Failed", containerStatuses=container(terminated(7))),
            StatusItem(JobStatus.FAILED, Reason.ERROR, "the command exited with code 7", None, 7),
        ),
        (
            pod("Failed", containerStatuses=container(terminated(137, "OOMKilled"))),
            StatusItem(JobStatus.FAILED, Reason.OOM_KILLED, OOM, exit_code=137),
        ),
        (
            pod("Failed", reason="DeadlineExceeded", message="Pod was active too long"),
            StatusItem(JobStatus.CANCELLED, Reason.LIFE_SPAN_ENDED, "the job's life span ended"),
        ),
        (
            pod("Failed", reason="Shutdown", message="Pod was terminated in response to shutdown"),
            StatusItem(JobStatus.FAILED, "Shutdown", "Pod was terminated in response to shutdown"),
        ),
        (
            pod("Failed", reason="Evicted", message="low on memory"),
            StatusItem(JobStatus.FAILED, "Evicted", "low on memory"),
        ),
        (pod("Failed"), StatusItem(JobStatus.FAILED, Reason.ERROR, "the pod failed")),
    ],
)
def test_pod_states_read_as_job_statuses(the_pod: dict[str, Any], expected: StatusItem) -> None:
    item = pod_status(the_pod)
    assert (item.status, item.reason, item.description, item.exit_code) == (
        expected.status,
        expected.reason,
        expected.description,
        expected.exit_code,
    )


def test_only_waits_that_time_cannot_end_are_stuck() -> None:
    assert stuck(pod(conditions=UNSCHEDULED)) == ("Unschedulable", UNSCHEDULABLE)
    assert stuck(pod(containerStatuses=container(waiting("ImagePullBackOff", "gone")))) == (
        "ImagePullBackOff",
        "gone",
    )
    assert stuck(pod(containerStatuses=container(waiting("ContainerCreating")))) is None
    assert stuck(pod()) is None
    assert stuck(pod("Running", containerStatuses=container(waiting("CrashLoopBackOff")))) is None


def test_a_job_stuck_too_long_fails_with_its_cause() -> None:
    item = timed_out_status("Unschedulable", UNSCHEDULABLE, 600)
    assert (item.status, item.reason) == (JobStatus.FAILED, "Unschedulable")
    assert item.description == f"{UNSCHEDULABLE} (still Unschedulable after 600 s)"
    assert timed_out_status("ErrImagePull", "", 5).description == "ErrImagePull"


def test_a_deleted_pod_ends_the_job_by_who_deleted_it() -> None:
    killed = deleted_status(Reason.USER_REQUESTED, StatusItem(JobStatus.RUNNING))
    assert (killed.status, killed.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
    vanished = deleted_status(None, StatusItem(JobStatus.RUNNING))
    assert (vanished.status, vanished.reason) == (JobStatus.FAILED, POD_VANISHED)
    ended = StatusItem(JobStatus.SUCCEEDED, exit_code=0)
    assert deleted_status(None, ended) is ended  # garbage collection after the end changes nothing
