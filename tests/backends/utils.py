"""Helpers for backend tests: waiting on conditions, recording events."""

from __future__ import annotations

import asyncio
import contextlib

from neuro_jupyter.backends.base import StatusEvent
from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.model import Job, JobSpec, JobStatus, Preset, StatusItem
from tests.utils import wait_for

SMALL = Preset("cpu-small", 1, 2 << 30)


def make_job(command: str, preset: Preset = SMALL, owner: str = "alice", **spec: object) -> Job:
    """A new pending job running ``command``."""
    return Job.create(owner, JobSpec(image="python:3", command=command, **spec), preset)  # type: ignore[arg-type]


class Recorder:
    """Consumes a backend's events and applies them to jobs, as the service does."""

    def __init__(self, backend: LocalBackend) -> None:
        self.events: list[StatusEvent] = []
        self._task = asyncio.create_task(self._consume(backend))

    async def _consume(self, backend: LocalBackend) -> None:
        async for event in backend.events():
            self.events.append(event)

    def items(self, job_id: str) -> list[StatusItem]:
        """The items reported for ``job_id``, in order."""
        return [e.item for e in self.events if e.job_id == job_id]

    def apply(self, job: Job) -> Job:
        """``job`` after every event reported for it (transitions are checked)."""
        for event in self.events:
            if event.job_id != job.id:
                continue
            job = job.transition(event.item)
            if event.backend_state is not None:
                job = job.with_backend_state(event.backend_state)
        return job

    async def until(self, job_id: str, status: JobStatus, timeout: float = 15.0) -> StatusItem:
        """Wait for ``job_id`` to reach ``status``; that item."""
        await wait_for(lambda: any(i.status is status for i in self.items(job_id)), timeout)
        return next(i for i in self.items(job_id) if i.status is status)

    async def end(self, job_id: str, timeout: float = 15.0) -> StatusItem:
        """Wait for ``job_id`` to finish; its last item."""
        await wait_for(lambda: any(i.status.is_finished for i in self.items(job_id)), timeout)
        return self.items(job_id)[-1]

    async def close(self) -> None:
        """Stop consuming."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
