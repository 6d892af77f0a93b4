"""What a Pod's state means as a job's status (DESIGN.md §2 statuses). Pure.

Pods come as the API serves them (JSON, camelCase keys): the watch's objects
after ``ApiClient.sanitize_for_serialization``, or the emulator's. Reasons are
Kubernetes' own where a user would search for them (``ErrImagePull``,
``Evicted``), Neu.ro's where it has one (``Scheduling``, ``OOMKilled``,
``LifeSpanEnded``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...jobs.model import JobStatus, Reason, StatusItem
from .pods import DEADLINE_EXCEEDED

__all__ = [
    "POD_VANISHED",
    "STUCK_REASONS",
    "deleted_status",
    "pod_status",
    "stuck",
    "timed_out_status",
]

POD_VANISHED = "PodVanished"
"""A job's pod deleted by someone else than this backend (``kubectl delete``)."""

STUCK_REASONS = frozenset(
    {
        "Unschedulable",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
"""Pending reasons that wait for a person, not for time: bounded by the
schedule timeout (KubeSpawner's users wait out its whole start timeout)."""

_PENDING_CONTAINER = frozenset({"ContainerCreating", "PodInitializing"})


def _container(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The job's one container's status ({} before the kubelet reports it)."""
    containers = status.get("containerStatuses") or []
    return containers[0] if containers else {}


def _state(container: Mapping[str, Any], key: str = "state") -> tuple[str, Mapping[str, Any]]:
    """``("waiting" | "running" | "terminated" | "", details)``."""
    state = container.get(key) or {}
    for kind in ("terminated", "running", "waiting"):
        if state.get(kind) is not None:
            return kind, state[kind]
    return "", {}


def _unscheduled(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    conditions: list[Mapping[str, Any]] = status.get("conditions") or []
    for condition in conditions:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return condition
    return None


def pod_status(pod: Mapping[str, Any]) -> StatusItem:
    """The job status a pod's phase, conditions and container state amount to."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    container = _container(status)
    kind, details = _state(container)
    if phase == "Succeeded":
        return StatusItem(JobStatus.SUCCEEDED, exit_code=details.get("exitCode", 0))
    if phase == "Failed":
        return _failed(status, kind, details)
    if phase == "Running":
        if container.get("restartCount"):
            why = (details.get("message") or "") if kind == "waiting" else ""
            return StatusItem(JobStatus.RUNNING, Reason.RESTARTING, why)
        return StatusItem(JobStatus.RUNNING)
    unscheduled = _unscheduled(status)
    if unscheduled is not None:
        return StatusItem(JobStatus.PENDING, Reason.SCHEDULING, unscheduled.get("message") or "")
    if kind == "waiting" and details.get("reason") not in (None, *_PENDING_CONTAINER):
        return StatusItem(JobStatus.PENDING, details["reason"], details.get("message") or "")
    if kind == "waiting" or status.get("conditions"):
        return StatusItem(JobStatus.PENDING, Reason.CONTAINER_CREATING)
    return StatusItem(JobStatus.PENDING, Reason.SCHEDULING)


def _failed(status: Mapping[str, Any], kind: str, details: Mapping[str, Any]) -> StatusItem:
    reason = status.get("reason") or ""
    if reason == DEADLINE_EXCEEDED:
        return StatusItem(JobStatus.CANCELLED, Reason.LIFE_SPAN_ENDED, "the job's life span ended")
    if kind == "terminated":
        code = details.get("exitCode")
        if details.get("reason") == "OOMKilled":
            description = "the job used more than its memory limit"
            return StatusItem(JobStatus.FAILED, Reason.OOM_KILLED, description, exit_code=137)
        if code is not None:
            description = details.get("message") or f"the command exited with code {code}"
            return StatusItem(JobStatus.FAILED, Reason.ERROR, description, exit_code=code)
    if reason:  # the pod failed, not its command: Evicted, Shutdown (a spot reclaim), NodeLost
        return StatusItem(JobStatus.FAILED, reason, status.get("message") or "")
    return StatusItem(JobStatus.FAILED, Reason.ERROR, status.get("message") or "the pod failed")


def stuck(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(reason, message)`` where a pending pod waits on something time will not fix."""
    status = pod.get("status") or {}
    if (status.get("phase") or "Pending") != "Pending":
        return None
    unscheduled = _unscheduled(status)
    if unscheduled is not None and unscheduled.get("reason") == "Unschedulable":
        return "Unschedulable", unscheduled.get("message") or ""
    kind, details = _state(_container(status))
    if kind == "waiting" and details.get("reason") in STUCK_REASONS:
        return details["reason"], details.get("message") or ""
    return None


def timed_out_status(reason: str, message: str, timeout: float) -> StatusItem:
    """A job that stayed :func:`stuck` longer than the schedule timeout: failed, cause kept."""
    description = f"{message} (still {reason} after {timeout:g} s)" if message else reason
    return StatusItem(JobStatus.FAILED, reason, description)


def deleted_status(kill_reason: str | None, last: StatusItem | None) -> StatusItem:
    """The end of a job whose pod was deleted.

    ``kill_reason`` is what this backend deleted it for (``UserRequested``,
    ``LifeSpanEnded``); None where someone else did. A pod that had ended
    already keeps its end.
    """
    if last is not None and last.status.is_finished:
        return last
    if kill_reason is not None:
        return StatusItem(JobStatus.CANCELLED, kill_reason)
    return StatusItem(
        JobStatus.FAILED, POD_VANISHED, "the job's pod was deleted outside neuro-jupyter"
    )
