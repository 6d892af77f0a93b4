"""A server restart: a new LocalBackend adopts the jobs the old one started."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil

from neuro_jupyter.backends.local.jobdir import JobDir
from neuro_jupyter.jobs.model import Job, JobStatus, Reason

from ..utils import Recorder, make_job, wait_for
from .conftest import make_backend
from .test_backend import output, wait_for_output

PY = sys.executable
COUNT = "import time\nfor i in range(5): print(i, flush=True); time.sleep(0.2)\nraise SystemExit(4)"


async def started_job(dirs: dict[str, str], command: str) -> Job:
    """Start ``command`` on a backend that then goes away (the server dies)."""
    old = make_backend(dirs)
    await old.setup()
    recorder = Recorder(old)
    job = make_job(command)
    await old.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    await recorder.close()
    await old.shutdown()
    return recorder.apply(job)


async def test_a_new_backend_reports_the_end_of_an_adopted_job(dirs: dict[str, str]) -> None:
    job = await started_job(dirs, f"{PY} -c '{COUNT}'")
    assert job.backend_state["runner_pid"]
    new = make_backend(dirs)
    await new.setup()
    recorder = Recorder(new)
    try:
        await new.reconcile([job])
        end = await recorder.end(job.id)
        assert (end.status, end.reason, end.exit_code) == (JobStatus.FAILED, Reason.ERROR, 4)
        assert await output(new, job) == b"0\n1\n2\n3\n4\n"
    finally:
        await recorder.close()
        await new.shutdown()


async def test_an_adopted_job_can_be_followed_and_killed(dirs: dict[str, str]) -> None:
    job = await started_job(dirs, "sh -c 'echo up; sleep 30'")
    new = make_backend(dirs)
    await new.setup()
    recorder = Recorder(new)
    try:
        await new.reconcile([job])
        assert new.capacity().free_cpu == 3.0  # its preset is held again
        await wait_for_output(new, job, b"up")
        await new.kill(job, Reason.USER_REQUESTED)
        end = await recorder.end(job.id)
        assert (end.status, end.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
        assert [c async for c in new.logs(job, follow=True)] == [b"up\n"]
    finally:
        await recorder.close()
        await new.shutdown()


async def test_a_runner_killed_while_the_server_was_down_vanished(dirs: dict[str, str]) -> None:
    job = await started_job(dirs, "sleep 30")
    child = JobDir(job_dir_of(job)).started()
    assert child is not None
    os.kill(job.backend_state["runner_pid"], signal.SIGKILL)
    await wait_for(lambda: not JobDir(job_dir_of(job)).runner_alive())
    new = make_backend(dirs)
    recorder = Recorder(new)
    try:
        await new.reconcile([job])
        end = await recorder.end(job.id)
        assert (end.status, end.reason) == (JobStatus.FAILED, Reason.VANISHED)
        assert "while the server was down" in end.description
        # the orphaned command is stopped: its output had nowhere to go
        await wait_for(lambda: not psutil.pid_exists(child.pid) or zombie(child.pid))
    finally:
        await recorder.close()


async def test_pending_jobs_are_queued_again_in_creation_order(dirs: dict[str, str]) -> None:
    new = make_backend(dirs, cpus=1.0)
    await new.setup()
    recorder = Recorder(new)
    try:
        first, second = make_job("echo first"), make_job("echo second")
        await new.reconcile([second, first])
        await recorder.end(first.id)
        await recorder.end(second.id)
        order = [e.job_id for e in recorder.events if e.item.status is JobStatus.RUNNING]
        assert order == [first.id, second.id]
    finally:
        await recorder.close()
        await new.shutdown()


def job_dir_of(job: Job) -> Path:
    return Path(job.backend_state["job_dir"])


def zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
