"""SELECT statements for listing jobs: visibility and every filter in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ..jobs.model import ListJobsQuery
from ..jobs.permissions import principals
from .rows import JOB_COLUMNS
from .tables import job_tags, jobs, shares

__all__ = ["list_jobs_select", "visible_to"]


def visible_to(viewer: str, groups: Iterable[str] = ()) -> sa.ColumnElement[bool]:
    """Jobs ``viewer`` owns, or that are shared by id or by name with them or
    with one of their hub ``groups`` (the grantees of
    :func:`~neuro_jupyter.jobs.permissions.principals`, the rule the service
    checks single jobs with).

    The first clause only narrows the owner to the viewer and those who share
    something with one of the viewer's grantees, so the owner-led indexes drive
    the query (``ix_shares_user_owner`` finds those owners); the second is the
    exact rule.
    """
    grantees = sorted(principals(viewer, groups))
    sharing_owners = sa.select(sa.literal(viewer)).union(
        sa.select(shares.c.owner).where(shares.c.user.in_(grantees))
    )
    shared = (
        sa.exists()
        .where(shares.c.user.in_(grantees))
        .where(shares.c.owner == jobs.c.owner)
        .where(shares.c.target.in_([jobs.c.id, jobs.c.name]))
    )
    return sa.and_(jobs.c.owner.in_(sharing_owners), sa.or_(jobs.c.owner == viewer, shared))


def _filters(query: ListJobsQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [visible_to(query.viewer, query.groups)]
    if query.statuses:
        where.append(jobs.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.owners:
        where.append(jobs.c.owner.in_(sorted(query.owners)))
    if query.name is not None:
        where.append(jobs.c.name == query.name)
    for tag in sorted(query.tags):
        where.append(sa.exists().where(job_tags.c.job_id == jobs.c.id).where(job_tags.c.tag == tag))
    if query.q:
        searched = (jobs.c.name, jobs.c.job_description, jobs.c.image, jobs.c.command)
        where.append(sa.or_(*(c.icontains(query.q, autoescape=True) for c in searched)))
    if query.since is not None:
        where.append(jobs.c.created_at >= query.since)
    if query.until is not None:
        where.append(jobs.c.created_at <= query.until)
    if query.after is not None:
        at, job_id = query.after
        where.append(
            sa.or_(jobs.c.created_at < at, sa.and_(jobs.c.created_at == at, jobs.c.id < job_id))
        )
    return where


def list_jobs_select(query: ListJobsQuery) -> sa.Select[Any]:
    """The page of ``jobs`` rows ``query`` asks for, newest first.

    Empty fields do not filter (an empty ``statuses`` set included); tags
    must all be present; ``since``/``until`` bound ``created_at`` inclusively;
    at most ``query.limit`` rows.
    """
    return (
        sa.select(*JOB_COLUMNS)
        .where(*_filters(query))
        .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        .limit(max(query.limit, 0))
    )
