"""Conversions between :class:`~neuro_jupyter.jobs.model.Job` records and table rows.

``job_rows`` is exactly what :meth:`JobStore.add` writes, so bulk loaders
(``benchmarks/bench_ps.py``) can reuse it and stay faithful to the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..jobs.model import Job, StatusItem
from .tables import jobs, status_history

__all__ = ["JobRows", "history_row", "job_from_row", "job_rows", "spec_columns", "status_columns"]

Row = dict[str, Any]


@dataclass(frozen=True)
class JobRows:
    """The rows one job occupies: its ``jobs`` row, its history and its tags."""

    job: Row
    history: list[Row]
    tags: list[Row]


def spec_columns(job: Job) -> Row:
    """The ``jobs`` columns that derive from the spec (and the spec itself)."""
    spec = job.spec
    return {
        "name": spec.name,
        "job_description": spec.description,
        "image": spec.image,
        "preset_name": spec.preset,
        "command": spec.command,
        "spec": spec,
    }


def status_columns(job: Job) -> Row:
    """The ``jobs`` columns that denormalise the job's history."""
    return {
        "status": job.status,
        "reason": job.reason,
        "description": job.description,
        "exit_code": job.exit_code,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def history_row(job_id: str, seq: int, item: StatusItem) -> Row:
    """One ``status_history`` row."""
    return {
        "job_id": job_id,
        "seq": seq,
        "status": item.status,
        "reason": item.reason,
        "description": item.description,
        "exit_code": item.exit_code,
        "at": item.at,
    }


def tag_rows(job: Job) -> list[Row]:
    """The job's ``job_tags`` rows (duplicate tags collapse into one)."""
    return [{"job_id": job.id, "tag": tag} for tag in dict.fromkeys(job.spec.tags)]


def job_rows(job: Job) -> JobRows:
    """Every row :meth:`JobStore.add` inserts for ``job``.

    Raises:
        ValueError: the job has no history (a job always starts with one item).
    """
    if not job.history:
        raise ValueError(f"job {job.id} has no history")
    row: Row = {
        "id": job.id,
        "owner": job.owner,
        "created_at": job.created_at,
        "preset": job.preset,
        "cluster": job.cluster,
        "runtime": job.runtime,
        "backend_state": job.backend_state,
        **spec_columns(job),
        **status_columns(job),
    }
    history = [history_row(job.id, seq, item) for seq, item in enumerate(job.history)]
    return JobRows(job=row, history=history, tags=tag_rows(job))


def history_item(row: sa.Row[Any]) -> StatusItem:
    """A history entry from a ``status_history`` row."""
    m = row._mapping
    return StatusItem(
        status=m["status"],
        reason=m["reason"],
        description=m["description"],
        at=m["at"],
        exit_code=m["exit_code"],
    )


def job_from_row(row: sa.Row[Any], history: Iterable[StatusItem]) -> Job:
    """A :class:`Job` from its ``jobs`` row and its ordered history."""
    m = row._mapping
    return Job(
        id=m["id"],
        owner=m["owner"],
        spec=m["spec"],
        preset=m["preset"],
        cluster=m["cluster"],
        history=tuple(history),
        backend_state=m["backend_state"],
        runtime=m["runtime"],
    )


JOB_COLUMNS: Sequence[sa.Column[Any]] = [
    jobs.c.id,
    jobs.c.owner,
    jobs.c.spec,
    jobs.c.preset,
    jobs.c.cluster,
    jobs.c.backend_state,
    jobs.c.runtime,
]
"""The columns a :class:`Job` is rebuilt from (the rest only serve filters)."""

HISTORY_COLUMNS: Sequence[sa.Column[Any]] = [
    status_history.c.job_id,
    status_history.c.status,
    status_history.c.reason,
    status_history.c.description,
    status_history.c.exit_code,
    status_history.c.at,
]
"""The columns a :class:`StatusItem` is rebuilt from, plus its job id."""
