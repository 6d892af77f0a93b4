"""Tests for ``neuro_jupyter.store``: a real SQLite file (and in-memory SQLite).

Set ``NEURO_TEST_POSTGRES_URL`` (an admin URL such as
``postgresql+psycopg://postgres@127.0.0.1/postgres``) to run the same tests
against PostgreSQL: each test then gets a fresh database.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from neuro_jupyter.jobs.errors import Conflict, IllegalTransition, NotFound
from neuro_jupyter.jobs.model import (
    HttpSpec,
    Job,
    JobSpec,
    JobStatus,
    ListJobsQuery,
    Permission,
    Preset,
    Reason,
    RestartPolicy,
    Share,
    StatusItem,
    Volume,
)
from neuro_jupyter.store import SCHEMA_VERSION, JobStore, SchemaVersionError
from neuro_jupyter.store.tables import schema_version

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CPU_SMALL = Preset("cpu-small", cpu=1.0, memory=2**30)
PG_ADMIN_URL = os.environ.get("NEURO_TEST_POSTGRES_URL")
POSTGRES = ["postgres"] if PG_ADMIN_URL else []
R = TypeVar("R")


def at(minutes: float) -> datetime:
    """A fixed time, ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def a_job(
    owner: str = "alice",
    name: str | None = None,
    *,
    minute: float = 0,
    tags: tuple[str, ...] = (),
    **spec: Any,
) -> Job:
    """A new pending job, created ``minute`` minutes after T0."""
    job_spec = JobSpec(image=spec.pop("image", "ubuntu"), name=name, tags=tags, **spec)
    return Job.create(owner, job_spec, CPU_SMALL, at=at(minute))


def running(minute: float) -> StatusItem:
    return StatusItem(JobStatus.RUNNING, at=at(minute))


def finished(status: JobStatus, minute: float, exit_code: int | None = 0) -> StatusItem:
    return StatusItem(status, Reason.ERROR, "done", at=at(minute), exit_code=exit_code)


@pytest.fixture
def a_postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skipped without NEURO_TEST_POSTGRES_URL)."""
    assert PG_ADMIN_URL, "only requested when NEURO_TEST_POSTGRES_URL is set"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    db = f"neuro_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {db}")
        yield sa.make_url(PG_ADMIN_URL).set(database=db).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {db} WITH (FORCE)")
    finally:
        admin.dispose()


@pytest.fixture(params=["file", "memory", *POSTGRES])
def a_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for each kind of store: SQLite file, in-memory SQLite, PostgreSQL."""
    if request.param == "file":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    if request.param == "memory":
        return "sqlite://"
    url: str = request.getfixturevalue("a_postgres_url")
    return url


@pytest.fixture
def a_store(a_store_url: str) -> Iterator[JobStore]:
    with JobStore(a_store_url) as store:
        yield store


@pytest.fixture(params=["file", *POSTGRES])
def a_shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that outlives a store and that several connections share."""
    if request.param == "file":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    url: str = request.getfixturevalue("a_postgres_url")
    return url


@pytest.fixture
def a_shared_store(a_shared_url: str) -> Iterator[JobStore]:
    with JobStore(a_shared_url) as store:
        yield store


def race(count: int, work: Callable[[int], R]) -> list[R | Exception]:
    """Run ``work(i)`` in ``count`` threads released together; results or errors."""
    barrier = threading.Barrier(count)
    results: list[R | Exception] = [RuntimeError("not run")] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- records ------------------------------------------------------------------


def test_a_job_with_every_field_round_trips(a_store: JobStore) -> None:
    spec = JobSpec(
        image="ghcr.io/acme/train:1.2",
        command="python train.py --epochs 3",
        preset="gpu-large",
        name="train-model",
        tags=("exp", "team:vision"),
        description="Trains the model",
        volumes=(Volume("data", "/data", read_only=True), Volume("", "/home/alice")),
        env={"SEED": "1", "MODE": "fast"},
        workdir="/work",
        http=HttpSpec(8888, auth=False, keep_prefix=True),
        life_span=7200,
        restart=RestartPolicy.ON_FAILURE,
        share=("bob", "carol"),
    )
    preset = Preset(
        "gpu-large",
        cpu=7.5,
        memory=60 * 2**30,
        gpu=2,
        gpu_model="nvidia-h100",
        preemptible=True,
        node_selector={"pool": "gpu"},
        tolerations=({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},),
        priority_class="high",
    )
    job = Job.create("alice", spec, preset, cluster="k8s", runtime="kubernetes", at=T0)
    job = job.with_backend_state({"pod": "job-x", "attempt": 1, "nested": {"a": [1, 2]}})
    a_store.add(job)
    assert a_store.get(job.id) == job
    assert a_store.get("job-missing") is None


def test_history_comes_back_in_order(a_store: JobStore) -> None:
    job = a_job()
    a_store.add(job)
    a_store.append_status(job.id, StatusItem(JobStatus.PENDING, Reason.SCHEDULING, at=at(1)))
    a_store.append_status(job.id, running(2))
    a_store.append_status(job.id, StatusItem(JobStatus.RUNNING, Reason.RESTARTING, at=at(3)))
    last = a_store.append_status(job.id, finished(JobStatus.FAILED, 4, exit_code=137))
    stored = a_store.get(job.id)
    assert stored == last
    assert [(i.status, i.reason) for i in stored.history] == [
        (JobStatus.PENDING, Reason.CREATING),
        (JobStatus.PENDING, Reason.SCHEDULING),
        (JobStatus.RUNNING, ""),
        (JobStatus.RUNNING, Reason.RESTARTING),
        (JobStatus.FAILED, Reason.ERROR),
    ]
    assert (stored.started_at, stored.finished_at, stored.exit_code) == (at(2), at(4), 137)


def test_times_come_back_as_aware_utc(a_store: JobStore) -> None:
    paris = timezone(timedelta(hours=1))
    job = Job.create("alice", JobSpec("ubuntu"), CPU_SMALL, at=T0.astimezone(paris))
    a_store.add(job)
    created = a_store.get(job.id).created_at  # type: ignore[union-attr]
    assert created == T0
    assert created.tzinfo == timezone.utc


# -- the state machine ----------------------------------------------------------


def test_finished_is_final_and_a_refused_write_changes_nothing(a_store: JobStore) -> None:
    job = a_job()
    a_store.add(job)
    a_store.append_status(job.id, running(1))
    done = a_store.append_status(job.id, finished(JobStatus.SUCCEEDED, 2))
    with pytest.raises(IllegalTransition):
        a_store.append_status(
            job.id, StatusItem(JobStatus.CANCELLED, Reason.USER_REQUESTED, at=at(3)), {"x": 1}
        )
    assert a_store.get(job.id) == done
    assert a_store.list(ListJobsQuery("alice", statuses=frozenset({JobStatus.SUCCEEDED})))


def test_pending_cannot_succeed(a_store: JobStore) -> None:
    job = a_job()
    a_store.add(job)
    with pytest.raises(IllegalTransition):
        a_store.append_status(job.id, finished(JobStatus.SUCCEEDED, 1))
    assert a_store.get(job.id) == job


def test_unknown_jobs_are_not_found(a_store: JobStore) -> None:
    with pytest.raises(NotFound):
        a_store.append_status("job-missing", running(1))
    with pytest.raises(NotFound):
        a_store.set_backend_state("job-missing", {})
    with pytest.raises(NotFound):
        a_store.update_spec("job-missing", JobSpec("ubuntu"))


def test_append_status_can_save_backend_state(a_store: JobStore) -> None:
    job = a_job()
    a_store.add(job)
    new = a_store.append_status(job.id, running(1), {"pid": 42})
    assert new.backend_state == {"pid": 42}
    assert a_store.get(job.id) == new
    a_store.set_backend_state(job.id, {"pid": 43})
    assert a_store.get(job.id).backend_state == {"pid": 43}  # type: ignore[union-attr]


def test_a_kill_racing_an_exit_applies_once(a_shared_store: JobStore) -> None:
    for round_ in range(5):
        job = a_job(minute=round_)
        a_shared_store.add(job)
        a_shared_store.append_status(job.id, running(round_ + 1))
        ends = (
            StatusItem(JobStatus.CANCELLED, Reason.USER_REQUESTED, at=at(round_ + 2)),
            finished(JobStatus.SUCCEEDED, round_ + 2),
        )
        results = race(2, functools.partial(end_job, a_shared_store, job.id, ends))
        winners = [r for r in results if isinstance(r, Job)]
        assert len(winners) == 1
        assert all(isinstance(r, (Job, IllegalTransition)) for r in results)
        assert a_shared_store.get(job.id) == winners[0]
        assert len(winners[0].history) == 3


def end_job(store: JobStore, job_id: str, ends: tuple[StatusItem, ...], i: int) -> Job:
    return store.append_status(job_id, ends[i])


# -- one live job per (owner, name) -----------------------------------------------


def test_fifty_concurrent_adds_of_one_name_let_exactly_one_in(a_shared_store: JobStore) -> None:
    results = race(50, lambda i: a_shared_store.add(a_job(name="notebook", minute=i)))
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert results.count(None) == 1
    assert len(conflicts) == 49
    assert {str(c) for c in conflicts} == {"a live job named 'notebook' already exists"}
    assert a_shared_store.count() == 1


def test_a_live_name_clash_is_a_conflict(a_store: JobStore) -> None:
    a_store.add(a_job(name="notebook"))
    with pytest.raises(Conflict, match="a live job named 'notebook' already exists"):
        a_store.add(a_job(name="notebook", minute=1))
    a_store.add(a_job("bob", name="notebook", minute=2))  # another owner's name space
    assert a_store.count() == 2


def test_a_finished_job_frees_its_name_and_the_newest_wins(a_store: JobStore) -> None:
    first = a_job(name="notebook")
    a_store.add(first)
    a_store.append_status(first.id, finished(JobStatus.CANCELLED, 1))
    second = a_job(name="notebook", minute=2)
    a_store.add(second)
    assert a_store.find_by_name("alice", "notebook") == second
    a_store.append_status(second.id, finished(JobStatus.FAILED, 3, exit_code=1))
    assert a_store.find_by_name("alice", "notebook").id == second.id  # type: ignore[union-attr]
    assert a_store.find_by_name("bob", "notebook") is None


def test_a_taken_job_id_is_a_conflict(a_store: JobStore) -> None:
    job = a_job()
    a_store.add(job)
    with pytest.raises(Conflict, match="already exists"):
        a_store.add(job)


def test_update_spec_replaces_spec_and_tags(a_store: JobStore) -> None:
    job = a_job(name="notebook", tags=("old",))
    a_store.add(job)
    spec = JobSpec("ubuntu", name="notebook", tags=("new",), life_span=3 * 86400)
    updated = a_store.update_spec(job.id, spec)
    assert updated == job.with_spec(spec) == a_store.get(job.id)
    assert a_store.list(ListJobsQuery("alice", tags=frozenset({"old"}))) == []
    assert a_store.list(ListJobsQuery("alice", tags=frozenset({"new"}))) == [updated]
    other = a_job(name="other", minute=1)
    a_store.add(other)
    with pytest.raises(Conflict, match="'notebook'"):
        a_store.update_spec(other.id, JobSpec("ubuntu", name="notebook"))


def test_live_jobs_are_oldest_first(a_store: JobStore) -> None:
    newer, older, done = a_job(minute=5), a_job(minute=1), a_job(minute=0)
    for job in (newer, older, done):
        a_store.add(job)
    a_store.append_status(newer.id, running(6))
    a_store.append_status(done.id, finished(JobStatus.CANCELLED, 2))
    assert [j.id for j in a_store.live_jobs()] == [older.id, newer.id]


def test_running_jobs_are_the_running_ones_oldest_first(a_store: JobStore) -> None:
    newer, older, pending, done = (a_job(minute=m) for m in (5, 1, 2, 0))
    for job in (newer, older, pending, done):
        a_store.add(job)
    for job in (newer, older, done):
        a_store.append_status(job.id, running(6))
    a_store.append_status(done.id, finished(JobStatus.SUCCEEDED, 7))
    assert [j.id for j in a_store.running_jobs()] == [older.id, newer.id]
    assert a_store.running_jobs()[0] == a_store.get(older.id)


# -- listing ------------------------------------------------------------------------


@pytest.fixture
def some_jobs(a_store: JobStore) -> dict[str, Job]:
    """Alice's, Bob's and Carol's jobs at known times, statuses and tags."""
    jobs = {
        "a-run": a_job(name="train", minute=1, tags=("x", "gpu"), description="Big RUN"),
        "a-pend": a_job(minute=2, tags=("x",), command="echo 50% done"),
        "a-done": a_job(name="lab", minute=3, tags=("gpu",), image="jupyter/lab"),
        "b-by-id": a_job("bob", minute=4, tags=("x",)),
        "b-by-name-old": a_job("bob", name="web", minute=5),
        "b-by-name-new": a_job("bob", name="web", minute=6, tags=("x",)),
        "b-private": a_job("bob", name="secret", minute=7, tags=("x",)),
        "c-private": a_job("carol", name="web", minute=8),
    }
    moves = {
        "a-run": [running(1.5)],
        "a-done": [running(3.5), finished(JobStatus.SUCCEEDED, 9)],
        "b-by-id": [running(4.5)],
        "b-by-name-old": [running(5.5), finished(JobStatus.SUCCEEDED, 5.8)],
        "b-by-name-new": [running(6.5)],
        "b-private": [running(7.5)],
        "c-private": [running(8.5)],
    }
    for key, job in jobs.items():
        a_store.add(job)
        for item in moves.get(key, []):
            jobs[key] = a_store.append_status(job.id, item)
    a_store.put_share(Share("bob", jobs["b-by-id"].id, "alice", Permission.READ))
    a_store.put_share(Share("bob", "web", "alice", Permission.WRITE))
    a_store.put_share(Share("bob", "secret", "dave", Permission.READ))  # not alice's
    a_store.put_share(Share("carol", "train", "alice", Permission.READ))  # no such job
    return jobs


def keys(jobs: dict[str, Job], found: list[Job]) -> list[str]:
    by_id = {job.id: key for key, job in jobs.items()}
    return [by_id[job.id] for job in found]


def test_list_shows_own_and_shared_jobs_newest_first(
    a_store: JobStore, some_jobs: dict[str, Job]
) -> None:
    found = a_store.list(ListJobsQuery("alice"))
    assert keys(some_jobs, found) == [
        "b-by-name-new",
        "b-by-name-old",
        "b-by-id",
        "a-done",
        "a-pend",
        "a-run",
    ]
    assert found[0] == some_jobs["b-by-name-new"]  # with its full history
    assert keys(some_jobs, a_store.list(ListJobsQuery("dave"))) == ["b-private"]
    assert a_store.list(ListJobsQuery("erin")) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"statuses": {JobStatus.RUNNING}}, ["b-by-name-new", "b-by-id", "a-run"]),
        ({"statuses": {JobStatus.RUNNING}, "tags": {"x"}}, ["b-by-name-new", "b-by-id", "a-run"]),
        (
            {"statuses": {JobStatus.PENDING, JobStatus.SUCCEEDED}},
            ["b-by-name-old", "a-done", "a-pend"],
        ),
        ({"owners": {"alice"}}, ["a-done", "a-pend", "a-run"]),
        ({"owners": {"bob", "carol"}}, ["b-by-name-new", "b-by-name-old", "b-by-id"]),
        ({"name": "web"}, ["b-by-name-new", "b-by-name-old"]),
        ({"tags": {"x"}}, ["b-by-name-new", "b-by-id", "a-pend", "a-run"]),
        ({"tags": {"x", "gpu"}}, ["a-run"]),
        ({"tags": {"nope"}}, []),
        ({"q": "big run"}, ["a-run"]),
        ({"q": "TRAIN"}, ["a-run"]),
        ({"q": "JUPYTER/"}, ["a-done"]),
        ({"q": "50%"}, ["a-pend"]),
        ({"q": "%"}, ["a-pend"]),
        ({"q": "_"}, []),
        ({"since": at(3), "until": at(5)}, ["b-by-name-old", "b-by-id", "a-done"]),
        ({"since": at(5.5)}, ["b-by-name-new"]),
        ({"until": at(1)}, ["a-run"]),
        ({"limit": 2}, ["b-by-name-new", "b-by-name-old"]),
        (
            {"statuses": set()},
            ["b-by-name-new", "b-by-name-old", "b-by-id", "a-done", "a-pend", "a-run"],
        ),
    ],
)
def test_list_filters(
    a_store: JobStore, some_jobs: dict[str, Job], query: dict[str, Any], expected: list[str]
) -> None:
    fields: dict[str, Any] = {
        k: frozenset(v) if isinstance(v, set) else v for k, v in query.items()
    }
    assert keys(some_jobs, a_store.list(ListJobsQuery("alice", **fields))) == expected


def test_a_page_is_read_only_as_far_as_its_bytes(a_store: JobStore) -> None:
    added = [a_job(minute=m, description="x" * 10_000) for m in range(5)]
    for job in added:
        a_store.add(job)
    newest_first = [job.id for job in reversed(added)]
    query = ListJobsQuery("alice", limit=5)
    # ~10 KB a spec: the third passes 25,000 bytes and is the last one read.
    page, cut = a_store.list_page(query, 25_000)
    assert ([j.id for j in page], cut) == (newest_first[:3], True)
    assert page == a_store.list(query)[:3]
    page, cut = a_store.list_page(query, 1_000_000)
    assert ([j.id for j in page], cut) == (newest_first, False)


def test_list_shows_jobs_shared_with_the_viewers_groups(a_store: JobStore) -> None:
    """Issue 9: a job shared with group:G is visible to members of G only."""
    jobs = {
        "b-ml-by-id": a_job("bob", minute=1),
        "b-ml-by-name": a_job("bob", name="web", minute=2),
        "c-cv": a_job("carol", name="eval", minute=3),
        "c-private": a_job("carol", name="secret", minute=4),
        "d-own": a_job("dave", minute=5),
    }
    for job in jobs.values():
        a_store.add(job)
    a_store.put_share(Share("bob", jobs["b-ml-by-id"].id, "group:ml", Permission.READ))
    a_store.put_share(Share("bob", "web", "group:ml", Permission.WRITE))
    a_store.put_share(Share("carol", "eval", "group:cv", Permission.READ))
    a_store.put_share(Share("carol", "secret", "ml", Permission.READ))  # a user named ml

    def visible(viewer: str, *groups: str, **fields: Any) -> list[str]:
        query = ListJobsQuery(viewer, groups=frozenset(groups), **fields)
        return keys(jobs, a_store.list(query))

    assert visible("dave") == ["d-own"]
    assert visible("dave", "ml") == ["d-own", "b-ml-by-name", "b-ml-by-id"]
    assert visible("dave", "ml", "cv") == ["d-own", "c-cv", "b-ml-by-name", "b-ml-by-id"]
    assert visible("dave", "nlp") == ["d-own"]
    assert visible("erin", "ml", owners=frozenset({"bob"}), name="web") == ["b-ml-by-name"]
    # the group is not a user called ml, nor a user called group:ml
    assert visible("ml") == ["c-private"]
    assert visible("group:ml") == []
    assert visible("group:ml", "cv") == ["c-cv"]


# -- shares ---------------------------------------------------------------------------


def test_shares_upsert_list_and_remove(a_store: JobStore) -> None:
    job = a_job(name="web")
    a_store.add(job)
    a_store.put_share(Share("alice", "web", "bob", Permission.READ))
    a_store.put_share(Share("alice", "web", "bob", Permission.MANAGE))
    a_store.put_share(Share("alice", job.id, "carol", Permission.WRITE))
    a_store.put_share(Share("alice", "other", "dave", Permission.READ))
    a_store.put_share(Share("zoe", "web", "erin", Permission.READ))
    assert a_store.shares_for(job) == [
        Share("alice", "web", "bob", Permission.MANAGE),
        Share("alice", job.id, "carol", Permission.WRITE),
    ]
    assert a_store.shares_of("alice", "web") == [Share("alice", "web", "bob", Permission.MANAGE)]
    assert a_store.remove_share("alice", "web", "bob") is True
    assert a_store.remove_share("alice", "web", "bob") is False
    assert a_store.shares_of("alice", "web") == []
    unnamed = a_job(minute=1)
    assert a_store.shares_for(unnamed) == []


def test_a_job_is_added_with_its_grants_or_not_at_all(a_store: JobStore) -> None:
    job = a_job(name="web")
    grants = [Share("alice", job.id, user, Permission.WRITE) for user in ("bob", "carol", "bob")]
    a_store.add(job, grants)
    assert a_store.shares_for(job) == grants[:2]
    clash = a_job(name="web", minute=1)
    with pytest.raises(Conflict):
        a_store.add(clash, [Share("alice", clash.id, "dave", Permission.WRITE)])
    assert a_store.shares_for(clash) == []


# -- the schema and the SQLite file ---------------------------------------------------


def test_the_schema_version_is_recorded_once(a_shared_url: str) -> None:
    for _ in range(2):
        with JobStore(a_shared_url) as store:
            assert store.schema_version == SCHEMA_VERSION
            with store.engine.connect() as conn:
                versions = conn.execute(sa.select(schema_version.c.version)).scalars().all()
    assert versions == [SCHEMA_VERSION]


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    with JobStore(url) as store, store.engine.begin() as conn:
        conn.execute(schema_version.insert().values(version=SCHEMA_VERSION + 1, applied_at=T0))
    with pytest.raises(SchemaVersionError, match="newer than the version 1"):
        JobStore(url)


def test_a_foreign_jobs_table_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE jobs (id TEXT)")
    finally:
        engine.dispose()
    with pytest.raises(SchemaVersionError, match="no schema_version"):
        JobStore(url)


def test_the_default_store_is_a_wal_sqlite_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "jupyter" / "data"
    url = JobStore.default_url(str(data_dir))
    with JobStore(url) as store:
        assert (data_dir / "neuro_jobs.sqlite").is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            # Checkpoints are the checkpointer's, not any commit's (issue 14).
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0


def test_the_wal_is_checkpointed_in_a_thread_after_writes(tmp_path: Path) -> None:
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    checkpointer = store.checkpointer
    assert checkpointer is not None
    seen = checkpointer.checkpoints
    store.add(a_job(name="one", description="x" * 100_000))
    wait_until(lambda: checkpointer.checkpoints > seen)
    assert checkpointer.last is not None
    busy, frames, _ = checkpointer.last
    assert busy == 0 and frames > 0
    store.close()  # checkpoints what is left and ends the thread
    assert checkpointer.last[1] == checkpointer.last[2]  # every frame copied
    assert not checkpointer.running
    with JobStore("sqlite://") as memory:
        assert memory.checkpointer is None  # no WAL in memory


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Return once ``condition()`` holds; fail if it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.01)


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        JobStore("mysql+pymysql://localhost/jobs")
