"""LocalBackend with real processes: statuses, output, kills, memory, scheduling."""

from __future__ import annotations

import sys

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.model import JobStatus, Reason

from .utils import Recorder, make_job

PY = sys.executable


async def output(backend: LocalBackend, job: object) -> bytes:
    return b"".join([chunk async for chunk in backend.logs(job)])  # type: ignore[arg-type]


async def test_success_with_complete_output(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job(f"{PY} -c \"print('hello'); print('world')\"")
    backend.check(job.owner, job.spec, job.preset)
    await backend.start(job)
    end = await recorder.end(job.id)
    assert end.status is JobStatus.SUCCEEDED
    assert end.exit_code == 0
    statuses = [(i.status, i.reason) for i in recorder.items(job.id)]
    assert statuses[:2] == [
        (JobStatus.PENDING, Reason.CONTAINER_CREATING),
        (JobStatus.RUNNING, ""),
    ]
    assert await output(backend, recorder.apply(job)) == b"hello\nworld\n"


async def test_exit_code_fails_the_job(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sh -c 'echo oops; exit 3'")
    await backend.start(job)
    end = await recorder.end(job.id)
    assert (end.status, end.reason, end.exit_code) == (JobStatus.FAILED, Reason.ERROR, 3)
    assert "code 3" in end.description
