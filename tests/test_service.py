"""JobService over the real store and the real local backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.errors import Conflict, Forbidden, InvalidSpec, NotFound
from neuro_jupyter.jobs.model import (
    Job,
    JobStatus,
    ListJobsQuery,
    Permission,
    Preset,
    Reason,
    Share,
)
from neuro_jupyter.service import JobService
from neuro_jupyter.store import JobStore

PRESETS = [Preset("cpu-small", 1, 256 * 2**20), Preset("cpu-large", 2, 512 * 2**20)]


class BackendThatCannotStart(LocalBackend):
    """A runtime fault at start: the job must end failed, saying why."""

    async def start(self, job: Job, secret_env: Any = None) -> None:
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


# -- hub groups (issue 9) -------------------------------------------------------------


def running(job: Job) -> bool:
    return job.status is JobStatus.RUNNING


async def test_groups_are_as_the_hub_last_said(service: JobService) -> None:
    assert service.groups_of("bob") == frozenset()
    service.observe_groups("bob", ["ml", "cv"])
    assert service.groups_of("bob") == frozenset({"ml", "cv"})
    service.observe_groups("bob", iter(["ml"]))
    assert service.groups_of("bob") == frozenset({"ml"})
    assert service.groups_of("carol") == frozenset()
    service.observe_groups("bob", [])
    assert service.groups_of("bob") == frozenset()


async def test_a_group_share_gives_members_its_level_until_they_leave(
    service: JobService,
) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30", "name": "train"})
    grant = service.share("alice", "train", "group:ml", Permission.READ)
    assert grant == Share("alice", "train", "group:ml", Permission.READ)
    assert service.shares("alice", "train") == [grant]
    service.observe_groups("bob", ["ml"])
    service.observe_groups("carol", ["cv"])
    # a member sees it, lists it and reads it, but may not kill or share
    assert service.resolve("bob", "train--alice", "logs").id == job.id
    assert [j.id for j in service.list_jobs(ListJobsQuery("bob"))] == [job.id]
    assert service.shares("bob", "train--alice") == [grant]
    with pytest.raises(Forbidden, match="kill needs write permission"):
        await service.kill("bob", "train--alice")
    with pytest.raises(Forbidden, match="share needs manage permission"):
        service.share("bob", "train--alice", "carol", Permission.READ)
    # not a member: exactly as for a job that is not shared at all
    with pytest.raises(NotFound) as hidden:
        service.resolve("carol", "train--alice")
    assert str(hidden.value) == "job train--alice not found"
    assert service.list_jobs(ListJobsQuery("carol")) == []
    # a query cannot claim groups the hub did not say
    assert service.list_jobs(ListJobsQuery("carol", groups=frozenset({"ml"}))) == []
    # taken out of the group: gone at once
    service.observe_groups("bob", ["cv"])
    with pytest.raises(NotFound) as gone:
        service.resolve("bob", "train--alice")
    assert str(gone.value) == str(hidden.value)
    assert service.list_jobs(ListJobsQuery("bob")) == []


async def test_group_levels_stack_with_the_users_own(service: JobService) -> None:
    job = await service.create("alice", {"image": "u", "command": "sleep 30", "name": "train"})
    service.share("alice", "train", "bob", Permission.READ)
    service.share("alice", job.id, "group:ml", Permission.MANAGE)
    service.observe_groups("bob", ["ml"])
    carol_grant = service.share("bob", "train--alice", "carol", Permission.READ)
    assert carol_grant == Share("alice", "train", "carol", Permission.READ)
    killed = await service.kill("bob", "train--alice", wait=5)
    assert killed.status is JobStatus.CANCELLED
    service.observe_groups("bob", [])
    with pytest.raises(Forbidden, match="you have read"):
        service.share("bob", "train--alice", "dave", Permission.READ)


async def test_unsharing_a_group(service: JobService) -> None:
    await service.create("alice", {"image": "u", "command": "sleep 30", "name": "train"})
    service.share("alice", "train", "group:ml", Permission.WRITE)
    service.observe_groups("bob", ["ml"])
    service.resolve("bob", "train--alice", "kill")
    service.unshare("alice", "train", "group:ml")
    assert service.shares("alice", "train") == []
    with pytest.raises(NotFound, match="job train--alice not found"):
        service.resolve("bob", "train--alice")
    with pytest.raises(NotFound, match="is not shared with group:ml"):
        service.unshare("alice", "train", "group:ml")


async def test_a_group_grantee_must_be_valid(service: JobService) -> None:
    await service.create("alice", {"image": "u", "command": "sleep 30", "name": "train"})
    for bad in ("group:", "group:m l", "group:a/b"):
        with pytest.raises(InvalidSpec) as info:
            service.share("alice", "train", bad, Permission.READ)
        assert info.value.field == "user"
        assert "use group:NAME" in str(info.value)
    assert service.shares("alice", "train") == []


async def test_sharing_with_a_group_on_create_grants_write(service: JobService) -> None:
    job = await service.create(
        "alice", {"image": "u", "command": "sleep 30", "share": ["group:ml", "carol"]}
    )
    assert service.shares("alice", job.id) == [
        Share("alice", job.id, "carol", Permission.WRITE),
        Share("alice", job.id, "group:ml", Permission.WRITE),
    ]
    service.observe_groups("bob", ["ml"])
    killed = await service.kill("bob", job.id, wait=5)
    assert killed.status is JobStatus.CANCELLED
    with pytest.raises(InvalidSpec) as info:
        await service.create("alice", {"image": "u", "share": ["group:"]})
    assert info.value.field == "share"


async def test_proxy_target_honours_groups_at_once(service: JobService) -> None:
    spec = {"image": "u", "command": "sleep 30", "name": "web", "http": {"port": 8080}}
    job = await service.create("alice", spec)
    await service.wait_for(job.id, running, 10)
    service.share("alice", "web", "group:ml", Permission.READ)
    with pytest.raises(NotFound, match="job web--alice not found"):
        await service.proxy_target("bob", "web--alice")
    service.observe_groups("bob", ["ml"])
    opened, endpoint = await service.proxy_target("bob", "web--alice")
    assert (opened.id, endpoint.port) == (job.id, 8080)
    # The proxy remembers answers for a second; leaving the group must not wait for it.
    service.observe_groups("bob", [])
    with pytest.raises(NotFound, match="job web--alice not found"):
        await service.proxy_target("bob", "web--alice")
    with pytest.raises(NotFound):
        await service.proxy_target("carol", "web--alice")
