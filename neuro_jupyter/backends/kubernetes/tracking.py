"""What the kubernetes backend knows of each job it runs (one :class:`TrackedJob` each)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...jobs.model import Job, StatusItem
from .pods import CONTAINER

__all__ = ["TrackedJob", "container_instance"]


def container_instance(pod: Mapping[str, Any]) -> int | None:
    """The restart count of the job container's instance that has run, if one has."""
    containers = (pod.get("status") or {}).get("containerStatuses") or []
    for container in containers:
        if container.get("name") != CONTAINER:
            continue
        state = container.get("state") or {}
        if state.get("running") is not None or state.get("terminated") is not None:
            return int(container.get("restartCount") or 0)
    return None


@dataclass
class TrackedJob:
    """What the backend knows of one job it runs.

    ``pod`` is the last version the watch saw (None once deleted);
    ``instance`` the restart count of the container instance whose log is
    archived now; ``archiver`` the task archiving it (see :mod:`.logarchive`).
    """

    job: Job
    last: StatusItem | None
    pod: dict[str, Any] | None = None
    kill_reason: str | None = None
    finished: bool = False
    stuck_timer: asyncio.TimerHandle | None = None
    instance: int | None = None
    archiver: asyncio.Task[None] | None = None
    archived: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    wrote: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self) -> None:
        """Wake whoever waits for news of this job."""
        self.changed.set()

    def wake_readers(self) -> None:
        """Wake the log readers waiting for more output."""
        self.wrote.set()
        self.wrote = asyncio.Event()
