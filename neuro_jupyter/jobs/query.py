"""The rules of a job listing request (``ps`` and ``GET jobs``).

Pure: turns the request's parameters (each a list of strings, as a query
string gives them) into a :class:`ListJobsQuery`, or an ``InvalidSpec``
naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from .errors import InvalidSpec
from .model import JobStatus, ListJobsQuery
from .parse import parse_job_name, parse_since, parse_tag, parse_user

__all__ = ["LIVE_STATUSES", "MAX_LIMIT", "parse_flag", "parse_list_query"]

LIVE_STATUSES = frozenset(s for s in JobStatus if s.is_live)
MAX_LIMIT = 10_000
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_flag(value: str, field: str) -> bool:
    """A boolean query parameter: ``true/false``, ``1/0``, ``yes/no``, ``on/off``."""
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


def _limit(value: str | None) -> int:
    if value is None:
        return 1000
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidSpec("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def parse_list_query(
    viewer: str, params: Mapping[str, Sequence[str]], now: datetime
) -> ListJobsQuery:
    """A listing of what ``viewer`` may see, filtered by ``params``.

    Parameters (all optional): ``status`` (repeatable; default live jobs),
    ``all`` (every status), ``owner`` (repeatable), ``name``, ``tag``
    (repeatable, all must match), ``q`` (substring), ``since``/``until`` (ISO
    time, UTC when it has no zone, or a duration ago; empty = no bound),
    ``limit``. Surrounding whitespace is ignored except in ``q``; a blank
    value is no filter. A bare number with no value (the
    cache-buster JupyterLab adds to GETs) is no parameter.

    Raises:
        InvalidSpec: a parameter breaks its rule; ``field`` names it.
    """
    known = {"status", "all", "owner", "name", "tag", "q", "since", "until", "limit"}
    for key in params:
        if key.isdigit() and not any(params[key]):
            continue  # JupyterLab's cache-buster: ``?1732594000000`` on every GET
        if key not in known:
            raise InvalidSpec(key, f"unknown parameter {key!r}: use {', '.join(sorted(known))}")
    name = _last(params, "name")
    return ListJobsQuery(
        viewer=viewer,
        statuses=_statuses(params),
        owners=frozenset(parse_user(o, "owner") for o in params.get("owner") or []),
        name=parse_job_name(name) if name else None,
        tags=frozenset(parse_tag(t) for t in params.get("tag") or []),
        q=(params.get("q") or [""])[-1] or None,  # free text: kept as written
        since=parse_since(_last(params, "since") or "", now),
        until=parse_since(_last(params, "until") or "", now, "until"),
        limit=_limit(_last(params, "limit")),
    )
