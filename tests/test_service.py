"""JobService over the real store and the real local backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.errors import Conflict, Forbidden, InvalidSpec, NotFound
from neuro_jupyter.jobs.model import Job, JobStatus, Permission, Preset, Reason
from neuro_jupyter.service import JobService
from neuro_jupyter.store import JobStore

PRESETS = [Preset("cpu-small", 1, 256 * 2**20), Preset("cpu-large", 2, 512 * 2**20)]


class BackendThatCannotStart(LocalBackend):
    """A runtime fault at start: the job must end failed, saying why."""

    async def start(self, job: Job) -> None:
        raise OSError("no more processes")


def make_service(tmp_path: Path, backend_class: type[LocalBackend] = LocalBackend) -> JobService:
    backend = backend_class(
        jobs_dir=str(tmp_path / "jobs"),
        storage_root=str(tmp_path / "storage"),
        default_workdir=str(tmp_path),
        cpus=2,
        poll_interval=0.05,
        kill_grace_period=1.0,
    )
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    return JobService(store, backend, PRESETS, life_span_check_interval=0.1)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[JobService]:
    service = make_service(tmp_path)
    await service.ready()
    yield service
    for job in service.store.live_jobs():
        await service.kill(job.owner, job.id, wait=5)
    await service.close()


def finished(job: Job) -> bool:
    return job.status.is_finished


async def test_defaults_come_from_the_service(service: JobService) -> None:
    job = await service.create("alice", {"image": "ubuntu", "command": "true"})
    assert job.spec.preset == "cpu-small"
    assert job.spec.life_span == 86400
    assert job.cluster == "local"
    assert job.runtime.startswith("local:")
    fields = {f["name"]: f for f in service.spec_fields()}
    assert fields["preset"]["choices"] == ["cpu-small", "cpu-large"]


async def test_a_backend_fault_at_start_fails_the_job_saying_why(tmp_path: Path) -> None:
    service = make_service(tmp_path, BackendThatCannotStart)
    await service.ready()
    job = await service.create("alice", {"image": "ubuntu", "command": "true", "name": "doomed"})
    assert (job.status, job.reason) == (JobStatus.FAILED, Reason.CANNOT_RUN)
    assert "no more processes" in job.description
    # The name is free again: a failed job is finished.
    await service.create("alice", {"image": "ubuntu", "command": "true", "name": "doomed"})
    await service.close()


async def test_life_span_counts_running_time_and_ends_the_job(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30", "life_span": "1s"})
    job = await service.wait_for(job.id, finished, 10)
    assert (job.status, job.reason) == (JobStatus.CANCELLED, Reason.LIFE_SPAN_ENDED)
    assert job.run_time() >= 1


async def test_bumping_needs_a_live_job_and_a_positive_duration(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30", "life_span": "1h"})
    bumped = service.bump_life_span("alice", job.id, "30m")
    assert bumped.spec.life_span == 5400
    with pytest.raises(InvalidSpec) as bad:
        service.bump_life_span("alice", job.id, "0")
    assert bad.value.field == "add"
    await service.kill("alice", job.id, wait=5)
    with pytest.raises(Conflict):
        service.bump_life_span("alice", job.id, "1h")


async def test_rerun_of_a_live_named_job_is_a_conflict(service: JobService) -> None:
    await service.create("alice", {"image": "u", "command": "sleep 30", "name": "busy"})
    with pytest.raises(Conflict, match="kill it first"):
        await service.rerun("alice", "busy")


async def test_exec_needs_a_running_job(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "true"})
    await service.wait_for(job.id, finished, 10)
    with pytest.raises(Conflict, match="not running"):
        await service.exec("alice", job.id, "ls")


async def test_permissions_are_checked_for_each_action(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30", "name": "guarded"})
    with pytest.raises(NotFound, match="job guarded--alice not found"):
        service.resolve("bob", "guarded--alice")
    service.share("alice", "guarded", "bob", Permission.READ)
    assert service.resolve("bob", "guarded--alice").id == job.id
    with pytest.raises(Forbidden, match="needs write"):
        await service.kill("bob", "guarded--alice")
    with pytest.raises(Forbidden, match="needs manage"):
        service.share("bob", "guarded--alice", "carol", Permission.READ)
    rerun_by_bob = await service.rerun("bob", "guarded--alice")
    assert rerun_by_bob.owner == "bob"


async def test_wait_for_times_out(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30"})
    with pytest.raises(TimeoutError):
        await service.wait_for(job.id, finished, 0.2)
