"""The rules of a job listing request (``ps`` and ``GET jobs``).

Pure: turns the request's parameters (each a list of strings, as a query
string gives them) into a :class:`ListJobsQuery`, or an ``InvalidSpec``
naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from .errors import InvalidSpec
from .model import Job, JobStatus, ListJobsQuery
from .parse import parse_job_name, parse_since, parse_tag, parse_user

__all__ = [
    "LIVE_STATUSES",
    "MAX_LIMIT",
    "Q_MAX",
    "format_cursor",
    "matches",
    "parse_cursor",
    "parse_events_query",
    "parse_flag",
    "parse_list_query",
    "parse_log_part",
    "parse_tail",
]

LIVE_STATUSES = frozenset(s for s in JobStatus if s.is_live)
MAX_LIMIT = 100
"""The default cap on ``limit``: one page (``c.NeuroJobs.max_page_size``)."""
Q_MAX = 256
"""Characters of the ``q`` search text."""
_JOB_ID = re.compile(r"job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CURSOR_RULE = "cursor must be the `next` value of an earlier answer"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_flag(value: str, field: str) -> bool:
    """A boolean query parameter: ``true/false``, ``1/0``, ``yes/no``, ``on/off``
    in any case, surrounding whitespace ignored; empty is false (the OpenAPI
    ``Flag`` pattern says the same)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidSpec(field, f"{field} must be true or false, not {value!r}")


def _last(params: Mapping[str, Sequence[str]], key: str) -> str | None:
    """The last value of ``key`` without surrounding whitespace; None when absent or blank."""
    values = params.get(key)
    value = values[-1].strip() if values else ""
    return value or None


def _statuses(params: Mapping[str, Sequence[str]]) -> frozenset[JobStatus] | None:
    everything = _last(params, "all")
    if everything is not None and parse_flag(everything, "all"):
        return None
    names = params.get("status") or []
    if not names:
        # As `neuro ps`: live jobs unless asked otherwise.
        return LIVE_STATUSES
    statuses = set()
    for name in names:
        try:
            statuses.add(JobStatus.from_name(name))
        except ValueError as exc:
            raise InvalidSpec("status", str(exc)) from None
    return frozenset(statuses)


def _limit(value: str | None, most: int) -> int:
    """``limit``, capped at ``most`` (one page; ``next`` leads on)."""
    if value is None:
        return most
    # ASCII digits only: "²".isdigit() is true, and int("²") raises (issue 14);
    # past 9 digits the cap applies anyway (and int() refuses 4,300 digits).
    if not (value.isascii() and value.isdigit()) or int(value[:10]) < 1:
        raise InvalidSpec("limit", "limit must be a whole number from 1")
    return most if len(value) > 9 else min(int(value), most)


def format_cursor(job: Job) -> str:
    """Where the page that ends with ``job`` ends: the ``next`` of a listing."""
    text = f"{job.created_at.isoformat()}|{job.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, str]:
    """The (created_at, id) a :func:`format_cursor` cursor names.

    Raises:
        InvalidSpec: ``cursor``: not one this server made.
    """
    try:
        padded = value + "=" * (-len(value) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        at, _, job_id = text.partition("|")
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidSpec("cursor", _CURSOR_RULE) from None
    if moment.tzinfo is None or not _JOB_ID.fullmatch(job_id):
        raise InvalidSpec("cursor", _CURSOR_RULE)
    return moment, job_id


def _q(value: str | None) -> str | None:
    if value and len(value) > Q_MAX:
        raise InvalidSpec("q", f"q has {len(value)} characters: at most {Q_MAX}")
    return value or None


def parse_list_query(
    viewer: str, params: Mapping[str, Sequence[str]], now: datetime, max_limit: int = MAX_LIMIT
) -> ListJobsQuery:
    """A listing of what ``viewer`` may see, filtered by ``params``.

    Parameters (all optional): ``status`` (repeatable; default live jobs),
    ``all`` (every status), ``owner`` (repeatable), ``name``, ``tag``
    (repeatable, all must match), ``q`` (substring), ``since``/``until`` (ISO
    time, UTC when it has no zone, or a duration ago; empty = no bound),
    ``limit`` (from 1; served at most ``max_limit``, which is also the
    default) and ``cursor`` (the ``next`` of the page before). Surrounding
    whitespace is ignored except in ``q``; a blank value is no filter. A
    bare number with no value (the cache-buster JupyterLab adds to GETs) is
    no parameter.

    Raises:
        InvalidSpec: a parameter breaks its rule; ``field`` names it.
    """
    known = {"status", "all", "owner", "name", "tag", "q", "since", "until", "limit", "cursor"}
    for key in params:
        if key.isdigit() and not any(params[key]):
            continue  # JupyterLab's cache-buster: ``?1732594000000`` on every GET
        if key not in known:
            raise InvalidSpec(key, f"unknown parameter {key!r}: use {', '.join(sorted(known))}")
    name = _last(params, "name")
    cursor = _last(params, "cursor")
    return ListJobsQuery(
        viewer=viewer,
        statuses=_statuses(params),
        owners=frozenset(parse_user(o, "owner") for o in params.get("owner") or []),
        name=parse_job_name(name) if name else None,
        tags=frozenset(parse_tag(t) for t in params.get("tag") or []),
        q=_q((params.get("q") or [""])[-1]),  # free text: kept as written
        since=parse_since(_last(params, "since") or "", now),
        until=parse_since(_last(params, "until") or "", now, "until"),
        limit=_limit(_last(params, "limit"), max_limit),
        after=parse_cursor(cursor) if cursor else None,
    )


EVENTS_PARAMS = frozenset({"status", "all", "owner", "name", "tag", "q", "since", "until"})
"""The filters of ``GET events``: those of ``GET jobs`` without paging."""


def parse_events_query(
    viewer: str, params: Mapping[str, Sequence[str]], now: datetime
) -> ListJobsQuery:
    """The filter of an event stream: as :func:`parse_list_query`, except that
    no ``status`` means every status (a stream of live jobs only would never
    say that one ended) and there is no ``limit`` or ``cursor``.

    Raises:
        InvalidSpec: a parameter breaks its rule; ``field`` names it.
    """
    for key in params:
        if key in ("limit", "cursor"):
            raise InvalidSpec(key, f"an event stream takes no {key}")
    query = parse_list_query(viewer, params, now)
    if not params.get("status") and _last(params, "all") is None:
        query = dataclasses.replace(query, statuses=None)
    return query


def matches(job: Job, previous: JobStatus | None, query: ListJobsQuery) -> bool:
    """Whether a change of ``job`` (from status ``previous``) passes ``query``'s
    filters, visibility aside: the rule of ``GET jobs`` for one job, except
    that a change into or out of a listed status passes (a reader of running
    jobs learns that one ended)."""
    if query.statuses is not None and not (
        job.status in query.statuses or previous in query.statuses
    ):
        return False
    if query.owners and job.owner not in query.owners:
        return False
    if query.name is not None and job.name != query.name:
        return False
    if not query.tags <= set(job.spec.tags):
        return False
    if query.q:
        needle = query.q.lower()
        spec = job.spec
        if not any(
            needle in (t or "").lower()
            for t in (job.name, spec.description, spec.image, spec.command)
        ):
            return False
    if query.since is not None and job.created_at < query.since:
        return False
    return query.until is None or job.created_at <= query.until


TAIL_MAX = 1_000_000
"""The most lines ``tail`` may ask for."""


LOG_PART_BYTES = 256 << 10
"""``logs?before=``: bytes of an earlier part when ``limit_bytes`` is not given."""
LOG_PART_MAX = 4 << 20
"""The most ``limit_bytes`` may ask for: one answer stays small."""
_OFFSET_MAX = 1 << 62


def _whole(value: str, field: str, low: int, high: int, what: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not low <= int(text) <= high:
        raise InvalidSpec(field, f"{field} must be {what} from {low} to {high}")
    return int(text)


def parse_log_part(before: str, limit_bytes: str | None) -> tuple[int, int]:
    """``logs?before=OFFSET&limit_bytes=N``: the byte offset an earlier part
    of the log ends at, and its most bytes (default :data:`LOG_PART_BYTES`).

    Raises:
        InvalidSpec: ``before`` or ``limit_bytes``: not a whole number in range.
    """
    offset = _whole(before, "before", 0, _OFFSET_MAX, "a byte offset")
    text = (limit_bytes or "").strip()
    limit = _whole(text, "limit_bytes", 1, LOG_PART_MAX, "a number of bytes") if text else None
    return offset, LOG_PART_BYTES if limit is None else limit


def parse_tail(value: str | None) -> int | None:
    """``logs?tail=N``: the last N lines (0 to :data:`TAIL_MAX`); None when
    absent or blank (the whole log).

    Raises:
        InvalidSpec: ``tail``: not a whole number in range.
    """
    text = (value or "").strip()
    if not text:
        return None
    # As the OpenAPI pattern says: up to 6 digits, or 1000000 itself.
    if not (text.isascii() and text.isdigit()) or (len(text) > 6 and text != str(TAIL_MAX)):
        raise InvalidSpec("tail", f"tail must be a whole number of lines from 0 to {TAIL_MAX}")
    return int(text)
