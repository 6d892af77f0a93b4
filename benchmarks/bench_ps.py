"""How fast ``ps`` lists jobs out of a big store.

    python benchmarks/bench_ps.py [--jobs 100000] [--repeat 200] [--db PATH]

Fills a temporary SQLite store with ``--jobs`` jobs of many owners, statuses
and tags (bulk inserted with ``executemany`` of exactly the rows that
``JobStore.add`` writes), then times ``JobStore.list`` for ``status=running&tag=x``
as one viewer, and prints p50/p95 in ms, the row count and SQLite's query plan.
Not a test: pytest never collects it (it lives outside ``tests/``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.model import (
    Job,
    JobSpec,
    JobStatus,
    ListJobsQuery,
    Permission,
    Preset,
    Reason,
    Share,
    StatusItem,
)
from neuro_jupyter.store import JobStore
from neuro_jupyter.store.queries import list_jobs_select
from neuro_jupyter.store.rows import job_rows
from neuro_jupyter.store.tables import job_tags, jobs, status_history

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.real_server import TOKEN, RealServer

VIEWER = "user0"
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
PRESET = Preset("cpu-small", cpu=1.0, memory=2**30)
TAGS = [f"tag{i}" for i in range(30)]
STATUSES = [
    (JobStatus.PENDING, 5),
    (JobStatus.RUNNING, 15),
    (JobStatus.SUCCEEDED, 50),
    (JobStatus.FAILED, 20),
    (JobStatus.CANCELLED, 10),
]
REUSED_NAMES = ["train", "lab", "web", "etl", "sweep"]


def fake_job(i: int, rng: random.Random, owners: int) -> Job:
    """Job ``i``: a random owner, status, tags and maybe a name, one second apart."""
    status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
    tags = rng.sample(TAGS, rng.randint(0, 3))
    if rng.random() < 0.1:
        tags.append("x")
    name = None
    if rng.random() < 0.3:  # live names must be unique per owner; finished ones repeat
        name = f"nb{i}" if status.is_live else rng.choice(REUSED_NAMES)
    spec = JobSpec(
        image=rng.choice(["ubuntu", "pytorch/pytorch:2.3", "jupyter/scipy-notebook"]),
        command=f"python step{i % 97}.py",
        name=name,
        tags=tuple(tags),
        description=f"run {i}",
    )
    created = T0 + timedelta(seconds=i)
    job = Job.create(f"user{rng.randrange(owners)}", spec, PRESET, at=created)
    if status is JobStatus.PENDING:
        return job.transition(StatusItem(status, Reason.SCHEDULING, at=created))
    job = job.transition(StatusItem(JobStatus.RUNNING, at=created + timedelta(seconds=5)))
    if status is JobStatus.RUNNING:
        return job.with_backend_state({"pid": 1000 + i})
    code = 0 if status is JobStatus.SUCCEEDED else 1
    return job.transition(StatusItem(status, at=created + timedelta(minutes=5), exit_code=code))


def batches(count: int, owners: int, size: int = 5000) -> Iterator[list[Job]]:
    """``count`` fake jobs, in lists of ``size``."""
    rng = random.Random(42)
    batch: list[Job] = []
    for i in range(count):
        batch.append(fake_job(i, rng, owners))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: JobStore, count: int, owners: int) -> list[Job]:
    """Bulk-insert ``count`` jobs; returns the viewer's own jobs."""
    own: list[Job] = []
    for batch in batches(count, owners):
        rows = [job_rows(job) for job in batch]
        with store.engine.begin() as conn:
            conn.execute(jobs.insert(), [r.job for r in rows])
            conn.execute(status_history.insert(), [h for r in rows for h in r.history])
            conn.execute(job_tags.insert(), [t for r in rows for t in r.tags])
        own.extend(job for job in batch if job.owner == VIEWER)
    return own


def share_with_viewer(store: JobStore) -> None:
    """Five owners share a job name and a few job ids with the viewer."""
    for owner in (f"user{i}" for i in range(1, 6)):
        store.put_share(Share(owner, "train", VIEWER, Permission.READ))
        for job in store.list(ListJobsQuery(owner, owners=frozenset({owner}), limit=3)):
            store.put_share(Share(owner, job.id, VIEWER, Permission.WRITE))


def timed(store: JobStore, query: ListJobsQuery, repeat: int) -> tuple[float, float, int]:
    """p50 and p95 in ms of ``store.list(query)``, and how many jobs it returns."""
    store.list(query)  # warm the page cache and the statement cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = store.list(query)
        times.append((time.perf_counter() - start) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1]
    return statistics.median(times), p95, len(found)


def query_plan(store: JobStore, query: ListJobsQuery) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN for the listing ``query`` compiles to."""
    sql = list_jobs_select(query).compile(
        dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
    return [f"{row[0]:>4} {row[1]:>4}  {row[3]}" for row in rows]


def main() -> None:
    """Fill a store, then time and explain the listing queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE before timing")
    parser.add_argument("--db", help="SQLite file to fill (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db or Path(tmp) / "jobs.sqlite")
        with JobStore(f"sqlite:///{path}") as store:
            start = time.perf_counter()
            own = fill(store, args.jobs, args.owners)
            share_with_viewer(store)
            if args.analyze:
                with store.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            took = time.perf_counter() - start
            print(
                f"filled {store.count():,} jobs in {took:.1f} s ({path.stat().st_size >> 20} MiB)"
            )
            print(f"viewer {VIEWER} owns {len(own):,} of them")
            report(store, args.repeat)
        report_http(path, Path(tmp), args.repeat)


def report(store: JobStore, repeat: int) -> None:
    """Time the ``ps`` queries and show the plan of the main one."""
    main_query = ListJobsQuery(
        VIEWER, statuses=frozenset({JobStatus.RUNNING}), tags=frozenset({"x"})
    )
    queries = {
        "status=running&tag=x": main_query,
        "status=running": ListJobsQuery(VIEWER, statuses=frozenset({JobStatus.RUNNING})),
        "name=train": ListJobsQuery(VIEWER, name="train"),
        "q=step4 limit=50": ListJobsQuery(VIEWER, q="step4", limit=50),
        "(all visible) limit=100": ListJobsQuery(VIEWER, limit=100),
    }
    # A page deep in the listing, after the cursor of the middle job (issue 14).
    everything = store.list(ListJobsQuery(VIEWER, limit=1_000_000))
    middle = everything[len(everything) // 2]
    queries["(all) limit=100 cursor=middle"] = ListJobsQuery(
        VIEWER, limit=100, after=(middle.created_at, middle.id)
    )
    print(f"\n{'query':<26} {'p50 ms':>8} {'p95 ms':>8} {'rows':>6}   ({repeat} runs each)")
    for label, query in queries.items():
        p50, p95, rows = timed(store, query, repeat)
        print(f"{label:<26} {p50:>8.2f} {p95:>8.2f} {rows:>6}")
    print("\nEXPLAIN QUERY PLAN for status=running&tag=x:")
    for line in query_plan(store, main_query):
        print(line)


class IdleBackend(LocalBackend):
    """A local backend that adopts and ends nothing: the filled jobs have no
    processes (reconciling would mark every live one vanished) and started
    long ago (the life-span check would cancel them)."""

    async def reconcile(self, jobs: Sequence[Job]) -> None:
        return None

    async def kill(self, job: Job, reason: str) -> None:
        return None


def report_http(db: Path, tmp: Path, repeat: int) -> None:
    """Time ``GET jobs?status=running&tag=x`` through a real jupyter server."""
    (tmp / "server").mkdir()
    here = str(Path(__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    server = RealServer(
        tmp / "server",
        extra_args=[
            f"--NeuroJobs.db_url=sqlite:///{db}",
            f"--NeuroJobs.local_user={VIEWER}",
            "--NeuroJobs.backend_class=bench_ps.IdleBackend",
        ],
        env=env,
    )
    server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        path = "/neuro/api/v1/jobs?status=running&tag=x"
        headers = {"Authorization": f"token {TOKEN}"}
        times, rows = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            connection.request("GET", path, headers=headers)
            body = connection.getresponse().read()
            times.append((time.perf_counter() - start) * 1000)
            rows = len(json.loads(body)["jobs"])
        times.sort()
        p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        print(f"\nHTTP GET {path} (keep-alive, {repeat} runs)")
        print(f"{'':<26} {p50:>8.2f} {p95:>8.2f} {rows:>6}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
