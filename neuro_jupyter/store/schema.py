"""Engines and the versioned schema.

SQLite (the default) gets WAL (checkpointed by :mod:`.checkpoint`, not by
commits), foreign keys, a busy timeout and ``synchronous=NORMAL`` on every
connection. SQLAlchemy, not the ``sqlite3``
driver, emits ``BEGIN`` so that transactions cover reads and DDL, and write
transactions can ask for ``BEGIN IMMEDIATE`` (take the write lock up front,
so two writers serialise instead of one failing to upgrade its lock).

The schema is versioned in ``schema_version``: an empty database is created at
:data:`SCHEMA_VERSION`; an older one is upgraded through :data:`MIGRATIONS`;
a newer one is refused. Nothing here ever drops a table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from ..jobs.model import utcnow
from .tables import SCHEMA_VERSION, metadata, schema_version

__all__ = [
    "IMMEDIATE",
    "MIGRATIONS",
    "SchemaVersionError",
    "ensure_schema",
    "is_memory_sqlite",
    "is_wal_sqlite",
    "make_engine",
]

IMMEDIATE = "neuro_begin_immediate"
"""Execution option: on SQLite, begin this connection's transaction IMMEDIATE."""

BUSY_TIMEOUT_MS = 30_000

MIGRATIONS: Mapping[int, Callable[[sa.Connection], None]] = {}
"""``MIGRATIONS[n]`` upgrades a version-``n`` database to ``n + 1``, in the open transaction."""

_PG_SCHEMA_LOCK = 0x6E6A6F62  # "njob": serialises schema setup across processes.


class SchemaVersionError(RuntimeError):
    """The database's schema cannot be used by this version of neuro-jupyter."""


def is_memory_sqlite(url: sa.URL) -> bool:
    """Whether ``url`` names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def is_wal_sqlite(url: sa.URL) -> bool:
    """Whether ``url`` names a SQLite file (kept in WAL mode by :func:`make_engine`)."""
    return url.get_backend_name() == "sqlite" and not is_memory_sqlite(url)


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite files get their folder and their pragmas.

    Raises:
        ValueError: ``url`` names neither SQLite nor PostgreSQL.
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True)
    if is_memory_sqlite(parsed):
        # One connection shared by all threads (JobStore serialises access).
        engine = sa.create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        assert parsed.database is not None
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
    _add_sqlite_listeners(engine, wal=not is_memory_sqlite(parsed))
    return engine


def _add_sqlite_listeners(engine: sa.Engine, *, wal: bool) -> None:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        """Set the pragmas on each new DBAPI connection."""
        # Stop the driver's own BEGIN handling; `on_begin` emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL").fetchall()
                # Checkpoints run in a thread of their own (store/checkpoint.py),
                # not in whichever commit fills the log (issue 14).
                cursor.execute("PRAGMA wal_autocheckpoint=0").fetchall()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    def on_begin(conn: sa.Connection) -> None:
        """Emit BEGIN ourselves: IMMEDIATE when the connection asks to write."""
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def ensure_schema(conn: sa.Connection) -> int:
    """Create or upgrade the schema inside the open (write) transaction.

    Returns:
        The schema version now in the database (always :data:`SCHEMA_VERSION`).

    Raises:
        SchemaVersionError: the database is newer than this code, or holds job
            tables without a recorded version.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK)))
    inspector = sa.inspect(conn)
    if not inspector.has_table(schema_version.name):
        if inspector.has_table("jobs"):
            raise SchemaVersionError(
                "the database has a jobs table but no schema_version: "
                "it was not made by neuro-jupyter; use another database URL"
            )
        metadata.create_all(conn)
        _record(conn, SCHEMA_VERSION)
        return SCHEMA_VERSION
    found = conn.scalar(sa.select(sa.func.max(schema_version.c.version)))
    if found is None:
        raise SchemaVersionError("the schema_version table is empty: cannot tell the schema")
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the database schema is version {found}, newer than the version "
            f"{SCHEMA_VERSION} this neuro-jupyter knows: upgrade neuro-jupyter"
        )
    for version in range(found, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
        _record(conn, version + 1)
    return SCHEMA_VERSION


def _record(conn: sa.Connection, version: int) -> None:
    conn.execute(schema_version.insert().values(version=version, applied_at=utcnow()))
