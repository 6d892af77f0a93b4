"""The job registry's tables, declared with SQLAlchemy Core.

Small ``TypeDecorator``s keep domain values at the edge of the database:
enums are stored by value, specs and presets through their JSON codecs, and
times as UTC (SQLite drops tzinfo, so it is re-attached on the way out).

The SQL here is portable: it runs on SQLite (the default) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from ..jobs.model import JobSpec, JobStatus, Permission, Preset

__all__ = [
    "LIVE_WHERE",
    "SCHEMA_VERSION",
    "JsonMap",
    "PermissionType",
    "PresetType",
    "SpecType",
    "StatusType",
    "UTCDateTime",
    "job_tags",
    "jobs",
    "metadata",
    "schema_version",
    "shares",
    "status_history",
]

SCHEMA_VERSION = 1
"""The schema version this code writes; see ``schema.MIGRATIONS`` for upgrades."""

LIVE_WHERE = sa.text("status IN ('pending', 'running')")
"""Live jobs, as literal SQL: partial indexes and the queries they serve use it alike."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as UTC; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} (store timezone-aware times)")
        value = value.astimezone(timezone.utc)
        # SQLite keeps no offset: store naive UTC so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class StatusType(sa.TypeDecorator[JobStatus]):
    """A :class:`JobStatus`, stored by value: ``pending``, ``running``, ..."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value: JobStatus | str | None, dialect: Dialect) -> str | None:
        return None if value is None else JobStatus(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> JobStatus | None:
        return None if value is None else JobStatus(value)


class PermissionType(sa.TypeDecorator[Permission]):
    """A :class:`Permission`, stored by name: ``read``, ``write``, ``manage``."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value: Permission | None, dialect: Dialect) -> str | None:
        return None if value is None else value.name.lower()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Permission | None:
        return None if value is None else Permission.from_name(value)


class SpecType(sa.TypeDecorator[JobSpec]):
    """A :class:`JobSpec`, stored as JSON through its codec."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: JobSpec | None, dialect: Dialect) -> Any:
        return None if value is None else value.to_json()

    def process_result_value(self, value: Any, dialect: Dialect) -> JobSpec | None:
        return None if value is None else JobSpec.from_json(value)


class PresetType(sa.TypeDecorator[Preset]):
    """A :class:`Preset` snapshot, stored as JSON through its codec."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Preset | None, dialect: Dialect) -> Any:
        return None if value is None else value.to_json()

    def process_result_value(self, value: Any, dialect: Dialect) -> Preset | None:
        return None if value is None else Preset.from_json(value)


class JsonMap(sa.TypeDecorator[Mapping[str, Any]]):
    """A JSON object (the backend's re-adoption state); never SQL NULL."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Mapping[str, Any] | None, dialect: Dialect) -> Any:
        return dict(value or {})

    def process_result_value(self, value: Any, dialect: Dialect) -> Mapping[str, Any]:
        return dict(value or {})


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("name", sa.String(64), nullable=True),
    # The current status, denormalised from status_history for filtering.
    sa.Column("status", StatusType, nullable=False),
    sa.Column("reason", sa.String(255), nullable=False, default=""),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("exit_code", sa.Integer, nullable=True),
    # Copies of spec fields that `q` searches; the spec column is the truth.
    sa.Column("job_description", sa.Text, nullable=False, default=""),
    sa.Column("image", sa.Text, nullable=False),
    sa.Column("preset_name", sa.String(255), nullable=False),
    sa.Column("command", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("spec", SpecType, nullable=False),
    sa.Column("preset", PresetType, nullable=False),
    sa.Column("cluster", sa.String(255), nullable=False),
    sa.Column("runtime", sa.Text, nullable=False, default=""),
    sa.Column("backend_state", JsonMap, nullable=False),
    # Listing: visibility always pins the owner, then status and time order.
    sa.Index("ix_jobs_owner_created", "owner", "created_at"),
    sa.Index("ix_jobs_owner_status_created", "owner", "status", "created_at"),
    sa.Index("ix_jobs_owner_name_created", "owner", "name", "created_at"),
    # No index leads with status: without SQLite statistics the planner would
    # prefer it and walk every running job. Start-up reconcile has its own.
    sa.Index(
        "ix_jobs_live_created",
        "created_at",
        sqlite_where=LIVE_WHERE,
        postgresql_where=LIVE_WHERE,
    ),
    # "One live job per (owner, name)", enforced by the database (DESIGN.md §2).
    sa.Index(
        "uq_jobs_live_name",
        "owner",
        "name",
        unique=True,
        sqlite_where=sa.text("name IS NOT NULL AND status IN ('pending', 'running')"),
        postgresql_where=sa.text("name IS NOT NULL AND status IN ('pending', 'running')"),
    ),
)

job_tags = sa.Table(
    "job_tags",
    metadata,
    sa.Column(
        "job_id", sa.String(64), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(256), primary_key=True),
    sa.Index("ix_job_tags_tag", "tag", "job_id"),
)

status_history = sa.Table(
    "status_history",
    metadata,
    sa.Column(
        "job_id", sa.String(64), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", StatusType, nullable=False),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

shares = sa.Table(
    "shares",
    metadata,
    sa.Column("owner", sa.String(255), primary_key=True),
    # A job id (`job-...`) or a job name: a name covers every job of that name.
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(255), primary_key=True),
    sa.Column("level", PermissionType, nullable=False),
    sa.Index("ix_shares_user_owner", "user", "owner", "target"),
)
