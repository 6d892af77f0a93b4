"""``JobStore``: the SQL job registry (DESIGN.md §1, core layer).

Sync API; each write runs in its own transaction and every method returns
domain records from :mod:`neuro_jupyter.jobs.model`, never rows.
"""

from __future__ import annotations

import builtins
import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..jobs.errors import Conflict, NotFound
from ..jobs.model import Job, JobSpec, JobStatus, ListJobsQuery, Share, StatusItem
from .checkpoint import WalCheckpointer
from .queries import list_jobs_select
from .rows import (
    HISTORY_COLUMNS,
    JOB_COLUMNS,
    history_item,
    history_row,
    job_from_row,
    job_rows,
    spec_columns,
    status_columns,
    tag_rows,
)
from .schema import IMMEDIATE, ensure_schema, is_memory_sqlite, is_wal_sqlite, make_engine
from .tables import LIVE_WHERE, job_tags, jobs, shares, status_history

__all__ = ["JobStore"]

_HISTORY_CHUNK = 500  # ids per IN (...) when loading a page's histories

# Statements of the per-job paths (a job's start writes three statuses, and
# every request on a job reads it), built once: SQLAlchemy then reuses their
# cache key and compiled form instead of building both per call. An
# append_status took 1.3 ms with statements built per call, 0.55 ms so.
_JOB_BY_ID = sa.select(*JOB_COLUMNS).where(jobs.c.id == sa.bindparam("job_id"))
_JOB_BY_ID_LOCKED = _JOB_BY_ID.with_for_update()
_HISTORY_OF_JOB = (
    sa.select(*HISTORY_COLUMNS)
    .where(status_history.c.job_id == sa.bindparam("job_id"))
    .order_by(status_history.c.seq)
)
_INSERT_JOB = jobs.insert()
_INSERT_HISTORY = status_history.insert()
_INSERT_TAGS = job_tags.insert()


def _status_update(columns: Sequence[str]) -> sa.Update:
    """``jobs`` SET ``columns`` where the id and the status are still the ones read."""
    where = (jobs.c.id == sa.bindparam("old_id"), jobs.c.status == sa.bindparam("old_status"))
    return jobs.update().where(*where).values({c: sa.bindparam(c) for c in columns})


_SHARES_OF_JOB = (
    sa.select(shares)
    .where(
        shares.c.owner == sa.bindparam("owner"),
        shares.c.target.in_([sa.bindparam("job_id"), sa.bindparam("name")]),
    )
    .order_by(shares.c.user, shares.c.target)
)
_STATUS_COLUMNS = ("status", "reason", "description", "exit_code", "started_at", "finished_at")
_UPDATE_STATUS = _status_update(_STATUS_COLUMNS)
_UPDATE_STATUS_AND_STATE = _status_update((*_STATUS_COLUMNS, "backend_state"))


class JobStore:
    """Jobs, their histories, tags and shares, in SQLite or PostgreSQL.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///PATH`` (the folder is created),
            ``sqlite://`` for a private in-memory store (tests), or
            ``postgresql+psycopg://...``.

    Raises:
        ValueError: the URL names another kind of database than SQLite or PostgreSQL.
        SchemaVersionError: the database's schema is newer than this code.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        # An in-memory SQLite store is one shared connection: take turns on it.
        memory = is_memory_sqlite(self._engine.url)
        self._lock: AbstractContextManager[Any] = threading.RLock() if memory else nullcontext()
        # Writes may commit in a writer thread and on the event loop alike.
        self._count_lock = threading.Lock()
        self.checkpointer = (
            WalCheckpointer(self._engine) if is_wal_sqlite(self._engine.url) else None
        )
        """Checkpoints a SQLite file's WAL after writes, off the writing threads."""
        self.writes = 0
        """Write transactions committed through this object: readers that cache
        what they read compare it to see whether anything may have changed."""
        try:
            with self._write() as conn:
                self.schema_version = ensure_schema(conn)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def default_url(data_dir: str) -> str:
        """The default store: a SQLite file in ``data_dir`` (the Jupyter data dir)."""
        return f"sqlite:///{Path(data_dir).expanduser().resolve() / 'neuro_jobs.sqlite'}"

    @property
    def engine(self) -> sa.Engine:
        """The underlying engine (benchmarks and tests bulk-load through it)."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self._engine.dispose()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction; on SQLite it holds the write lock from the start."""
        with self._lock, self._engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn
        # Counted after the commit: a reader that noted the count before reading
        # can only see it move, never miss a change it read around.
        with self._count_lock:
            self.writes += 1
        if self.checkpointer is not None:
            self.checkpointer.wrote()

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A read transaction (one consistent snapshot for several SELECTs)."""
        with self._lock, self._engine.connect() as conn, conn.begin():
            yield conn

    # -- jobs ---------------------------------------------------------------

    def add(self, job: Job, grants: Sequence[Share] = ()) -> None:
        """Insert a new job with its full history and tags, and ``grants`` on it.

        One transaction: a job and its ``share`` list cost one commit, not
        two (issue 14), and a refused job leaves no grants behind.

        Raises:
            Conflict: the owner already has a live job of that name (enforced
                by a unique index, so concurrent adds cannot both win), or the
                job id is taken.
        """
        rows = job_rows(job)
        try:
            with self._write() as conn:
                conn.execute(_INSERT_JOB, rows.job)
                conn.execute(_INSERT_HISTORY, rows.history)
                if rows.tags:
                    conn.execute(_INSERT_TAGS, rows.tags)
                self._upsert_shares(conn, grants)
        except sa.exc.IntegrityError as exc:
            raise _conflict(job.name, job.id, exc) from exc

    def get(self, job_id: str) -> Job | None:
        """The job with ``job_id`` and its ordered history, or None."""
        with self._read() as conn:
            row = conn.execute(_JOB_BY_ID, {"job_id": job_id}).first()
            return None if row is None else self._with_history(conn, row)

    def find_by_name(self, owner: str, name: str) -> Job | None:
        """The owner's newest job called ``name`` (live or not), or None."""
        stmt = (
            sa.select(*JOB_COLUMNS)
            .where(jobs.c.owner == owner, jobs.c.name == name)
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(stmt).first()
            return None if row is None else self._with_histories(conn, [row])[0]

    def append_status(
        self, job_id: str, item: StatusItem, backend_state: Mapping[str, Any] | None = None
    ) -> Job:
        """Record a status change (and optionally the backend's new state).

        The current status is read and changed in one transaction that holds
        the row (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``FOR UPDATE``), so a
        kill racing an exit cannot both apply; the update also compares the old
        status as a last guard.

        Returns:
            The job as now stored.

        Raises:
            NotFound: no such job.
            IllegalTransition: the state machine refuses the move (finished is
                final); nothing is written.
        """
        with self._write() as conn:
            job = self._locked(conn, job_id)
            new = job.transition(item)
            values = status_columns(new)
            update = _UPDATE_STATUS
            if backend_state is not None:
                new = new.with_backend_state(backend_state)
                values["backend_state"] = new.backend_state
                update = _UPDATE_STATUS_AND_STATE
            conn.execute(_INSERT_HISTORY, history_row(job_id, len(job.history), item))
            updated = conn.execute(update, {**values, "old_id": job_id, "old_status": job.status})
            if updated.rowcount != 1:  # pragma: no cover - the row lock prevents it
                raise Conflict(f"job {job_id} changed status meanwhile; try again")
            return new

    def set_backend_state(self, job_id: str, state: Mapping[str, Any]) -> None:
        """Replace what the backend needs to re-adopt the job.

        Raises:
            NotFound: no such job.
        """
        with self._write() as conn:
            stmt = jobs.update().where(jobs.c.id == job_id).values(backend_state=state)
            if conn.execute(stmt).rowcount != 1:
                raise NotFound(f"no job {job_id}")

    def update_spec(self, job_id: str, spec: JobSpec) -> Job:
        """Replace the job's spec (e.g. a bumped life span), tags included.

        Raises:
            NotFound: no such job.
            Conflict: the new name clashes with another live job of the owner.
        """
        try:
            with self._write() as conn:
                new = self._locked(conn, job_id).with_spec(spec)
                conn.execute(jobs.update().where(jobs.c.id == job_id).values(**spec_columns(new)))
                conn.execute(job_tags.delete().where(job_tags.c.job_id == job_id))
                if tags := tag_rows(new):
                    conn.execute(job_tags.insert(), tags)
                return new
        except sa.exc.IntegrityError as exc:
            raise _conflict(spec.name, job_id, exc) from exc

    def list(self, query: ListJobsQuery) -> builtins.list[Job]:
        """The jobs ``query.viewer`` may see that match ``query``, newest first.

        Visible: the viewer's own jobs and jobs shared with them by id or by
        name. Every filter runs in SQL; histories come in one more query.
        """
        with self._read() as conn:
            rows = conn.execute(list_jobs_select(query)).all()
            return self._with_histories(conn, rows)

    def list_page(self, query: ListJobsQuery, max_bytes: int) -> tuple[builtins.list[Job], bool]:
        """:meth:`list`, read only as far as ``max_bytes`` of stored specs.

        Rows are read in order until their specs (as stored, in JSON) add up
        to more than ``max_bytes``; the row that passes it is the last one
        read. A page of the largest jobs then costs the few that fit an
        answer, not ``query.limit`` of them (issue 14: 100 rows of ~140 KB
        took ~35 ms of the GIL to fetch and decode for a 4 MiB answer).

        Returns:
            The jobs read, and whether reading stopped at ``max_bytes`` (more
            may match).
        """
        stmt = list_jobs_select(query).add_columns(self._stored_size.label("stored_size"))
        rows: builtins.list[sa.Row[Any]] = []
        size = 0
        with self._read() as conn:
            for row in conn.execute(stmt):
                rows.append(row)
                size += row.stored_size or 0
                if size > max_bytes:
                    return self._with_histories(conn, rows), True
            return self._with_histories(conn, rows), False

    @functools.cached_property
    def _stored_size(self) -> sa.ColumnElement[int]:
        """The length of a job's stored spec; PostgreSQL's ``json`` needs a cast to measure."""
        if self._engine.dialect.name == "postgresql":
            return sa.func.length(sa.cast(jobs.c.spec, sa.Text))
        return sa.func.length(jobs.c.spec)

    def live_jobs(self) -> builtins.list[Job]:
        """Every pending or running job, oldest first (to reconcile at start-up)."""
        stmt = sa.select(*JOB_COLUMNS).where(LIVE_WHERE).order_by(jobs.c.created_at, jobs.c.id)
        with self._read() as conn:
            return self._with_histories(conn, conn.execute(stmt).all())

    def running_jobs(self) -> builtins.list[Job]:
        """Every running job, oldest first (to end those past their life span)."""
        stmt = (
            sa.select(*JOB_COLUMNS)
            .where(LIVE_WHERE, jobs.c.status == JobStatus.RUNNING)
            .order_by(jobs.c.created_at, jobs.c.id)
        )
        with self._read() as conn:
            return self._with_histories(conn, conn.execute(stmt).all())

    def count(self) -> int:
        """How many jobs are stored, of every owner and status."""
        with self._read() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(jobs)) or 0)

    def _locked(self, conn: sa.Connection, job_id: str) -> Job:
        """The job, its row locked for this transaction (a no-op clause on SQLite)."""
        row = conn.execute(_JOB_BY_ID_LOCKED, {"job_id": job_id}).first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return self._with_history(conn, row)

    @staticmethod
    def _with_history(conn: sa.Connection, row: sa.Row[Any]) -> Job:
        """The job of ``row`` with its history (one job: a statement built once)."""
        history = [history_item(h) for h in conn.execute(_HISTORY_OF_JOB, {"job_id": row.id})]
        return job_from_row(row, history)

    @staticmethod
    def _with_histories(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> builtins.list[Job]:
        """Jobs from ``rows``, their histories loaded in one query per 500 jobs."""
        ids = [row.id for row in rows]
        histories: dict[str, builtins.list[StatusItem]] = {job_id: [] for job_id in ids}
        for start in range(0, len(ids), _HISTORY_CHUNK):
            chunk = ids[start : start + _HISTORY_CHUNK]
            stmt = (
                sa.select(*HISTORY_COLUMNS)
                .where(status_history.c.job_id.in_(chunk))
                .order_by(status_history.c.job_id, status_history.c.seq)
            )
            for hrow in conn.execute(stmt):
                histories[hrow.job_id].append(history_item(hrow))
        return [job_from_row(row, histories[row.id]) for row in rows]

    # -- shares -------------------------------------------------------------

    def put_share(self, share: Share) -> None:
        """Grant ``share.level`` on ``share.target``, replacing an earlier level."""
        self.put_shares([share])

    def put_shares(self, grants: Sequence[Share]) -> None:
        """:meth:`put_share` for each of ``grants``, in one transaction (a job
        created with 64 ``share`` users took 64 commits, issue 14)."""
        if not grants:
            return
        with self._write() as conn:
            self._upsert_shares(conn, grants)

    def _upsert_shares(self, conn: sa.Connection, grants: Sequence[Share]) -> None:
        """Write ``grants`` in the open transaction; a later grant of the same
        (owner, target, user) replaces an earlier one."""
        if not grants:
            return
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(shares)
        stmt = stmt.on_conflict_do_update(
            index_elements=[shares.c.owner, shares.c.target, shares.c.user],
            set_={"level": stmt.excluded.level},
        )
        last = {(g.owner, g.target, g.user): g for g in grants}
        rows = [
            {"owner": g.owner, "target": g.target, "user": g.user, "level": g.level}
            for g in last.values()
        ]
        conn.execute(stmt, rows)

    def remove_share(self, owner: str, target: str, user: str) -> bool:
        """Withdraw a grant; whether there was one."""
        stmt = shares.delete().where(
            shares.c.owner == owner, shares.c.target == target, shares.c.user == user
        )
        with self._write() as conn:
            return conn.execute(stmt).rowcount > 0

    def shares_for(self, job: Job) -> builtins.list[Share]:
        """The grants that cover ``job``: on its id, or on its name."""
        params = {"owner": job.owner, "job_id": job.id, "name": job.name or job.id}
        with self._read() as conn:
            return [_share(r) for r in conn.execute(_SHARES_OF_JOB, params)]

    def shares_of(self, owner: str, target: str) -> builtins.list[Share]:
        """The grants on exactly ``target`` (a job id or name) of ``owner``."""
        return self._shares(shares.c.owner == owner, shares.c.target == target)

    def _shares(self, *where: sa.ColumnElement[bool]) -> builtins.list[Share]:
        stmt = sa.select(shares).where(*where).order_by(shares.c.user, shares.c.target)
        with self._read() as conn:
            return [_share(r) for r in conn.execute(stmt)]


def _share(row: sa.Row[Any]) -> Share:
    return Share(owner=row.owner, target=row.target, user=row.user, level=row.level)


def _conflict(name: str | None, job_id: str, exc: sa.exc.IntegrityError) -> Conflict:
    """The user-facing error for a unique violation on writing job ``job_id``."""
    text = str(exc.orig)
    # PostgreSQL names the index; SQLite names its columns.
    if name is not None and ("uq_jobs_live_name" in text or "jobs.owner, jobs.name" in text):
        return Conflict(f"a live job named {name!r} already exists")
    return Conflict(f"job {job_id} already exists")
