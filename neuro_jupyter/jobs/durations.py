"""Durations: Neu.ro's ``2d3h20m`` grammar, life spans, and ``ps --since`` times.

The grammar is ``(\\d+d)?(\\d+h)?(\\d+(m|min))?(\\d+s)?``: parts in that order,
no spaces inside (surrounding whitespace is ignored), at least one part; ``0``
alone means zero. Durations are capped at 100 years (:data:`MAX_DURATION`) so
that every accepted value fits the store and date arithmetic. Unlike the Neu.ro
server, life spans under a minute are accepted: the local backend can honour
them, and tests use them.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone, tzinfo

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec

__all__ = [
    "MAX_DURATION",
    "format_duration",
    "format_life_span",
    "localize_time",
    "parse_duration",
    "parse_life_span",
    "parse_since",
]

MAX_DURATION = 100 * 365 * 86400
"""The longest duration accepted, in seconds (100 years)."""

_DURATION_RE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)(?:min|m))?(?:(\d+)s)?")
_UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
_RULE = "use parts like 2d3h20m10s (d, h, m or min, s, in that order, no spaces), or 0"


def parse_duration(value: object, field: str) -> int:
    """Parse ``2d3h20m`` (or ``20min``, ``45s``, ``0``) into whole seconds.

    Raises:
        InvalidSpec: for ``field``: not a str, breaks the grammar, or over 100 years.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise InvalidSpec(field, f"duration must be a string, not {type(value).__name__}")
    if value == "0":
        return 0
    match = _DURATION_RE.fullmatch(value) if value.isascii() else None
    if match is None or not any(match.groups()):
        raise InvalidSpec(field, f"duration {quote(value)} is invalid: {_RULE}")
    if any(len(part) > 12 for part in match.groups() if part):
        seconds = MAX_DURATION + 1  # too many digits: skip the big-int arithmetic
    else:
        seconds = sum(
            int(part) * unit for part, (unit, _) in zip(match.groups(), _UNITS, strict=True) if part
        )
    if seconds > MAX_DURATION:
        raise InvalidSpec(field, f"duration {quote(value)} is too long: at most 36500d")
    return seconds


def format_duration(seconds: int) -> str:
    """Write whole seconds in the duration grammar: ``2d3h20m``, ``45s``, ``0``.

    The inverse of :func:`parse_duration`.

    Raises:
        ValueError: ``seconds`` is negative.
    """
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    if seconds == 0:
        return "0"
    parts = []
    for unit, suffix in _UNITS:
        count, seconds = divmod(seconds, unit)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def parse_life_span(value: object, field: str = "life_span") -> int:
    """A job's life span in seconds; ``0`` means no limit.

    Strings use the duration grammar (``1d``, ``2h30m``); numbers are seconds
    and must be whole, finite and not negative (``3600`` or ``3600.0``).

    Raises:
        InvalidSpec: ``life_span``, naming the rule.
    """
    if isinstance(value, str):
        return parse_duration(value, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSpec(
            field,
            f"life span must be a duration like '1d' or a number of seconds, "
            f"not {type(value).__name__}",
        )
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidSpec(field, f"life span {value} is invalid: use whole seconds")
    if value < 0:
        raise InvalidSpec(field, f"life span {value} is invalid: it cannot be negative")
    if value > MAX_DURATION:
        raise InvalidSpec(field, f"life span {value} is too long: at most 36500d")
    return int(value)


def format_life_span(seconds: int) -> str:
    """A life span in the duration grammar; ``0`` (no limit) is written ``0``.

    ``parse_life_span(format_life_span(s)) == s``.
    """
    return format_duration(seconds)


def _as_utc(moment: datetime, zone: tzinfo | None) -> datetime:
    """``moment`` in UTC; a naive one is read in ``zone`` (None: this machine's local time)."""
    if moment.tzinfo is None:
        if zone is None:
            return moment.astimezone(timezone.utc)  # naive: Python reads it as local time
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def parse_since(
    value: object, now: datetime, field: str = "since", *, zone: tzinfo | None = timezone.utc
) -> datetime | None:
    """A point in time for ``ps --since/--until`` and ``logs --since``: ISO-8601
    or "that long ago"; an empty value means no bound (None).

    ``2024-05`` (a month), ``2024-05-01``, ``2024-05-01T12:00:00``,
    ``2024-05-01T12:00:00+02:00`` and a trailing ``Z`` are absolute; a time
    without a zone is read in ``zone``: UTC by default (the REST API, which
    cannot know a client's zone), or with ``zone=None`` the local time of this
    machine, as Neu.ro's client reads it (the CLI and the magics). A duration
    (``2h``, ``1d12h``, ``0``) means ``now`` minus it. The result is aware UTC.

    Raises:
        InvalidSpec: for ``field``, naming both accepted forms.
    """
    if not isinstance(value, str):
        raise InvalidSpec(field, f"time must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    try:
        ago: int | None = parse_duration(text, field)
    except InvalidSpec:
        ago = None
    try:
        if ago is not None:
            return _as_utc(now, timezone.utc) - timedelta(seconds=ago)
        moment = _parse_iso(text)
        if moment is not None:
            return _as_utc(moment, zone)
    except (OverflowError, ValueError, OSError):
        raise InvalidSpec(field, f"time {quote(value)} is out of range") from None
    raise InvalidSpec(
        field,
        f"time {quote(value)} is invalid: use an ISO-8601 month, date or time "
        "(2024-05, 2024-05-01 or 2024-05-01T12:00:00Z) or a duration ago (2h, 1d12h)",
    )


def localize_time(value: str) -> str:
    """A client's ``--since``/``--until`` text as it goes to the server: an ISO
    time without a zone is read as this machine's local time and written in UTC
    with its zone (``2024-05-01T00:00:00+00:00``), since the server reads a
    zone-less time as UTC. Anything else (a duration, a time with a zone, empty
    or invalid text) goes without its surrounding whitespace, for the server to
    judge.
    """
    text = value.strip()
    try:
        moment = _parse_iso(text)
        if moment is None or moment.tzinfo is not None:
            return text
        return _as_utc(moment, None).isoformat()
    except (OverflowError, ValueError, OSError):
        return text


_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")


def _parse_iso(text: str) -> datetime | None:
    """An ISO-8601 month, date or date-time, or None; a bare number is not taken as a date."""
    if not text or text.isdigit() or not text.isascii():
        return None
    month = _MONTH_RE.fullmatch(text)
    if month is not None:
        year, number = int(month.group(1)), int(month.group(2))
        return datetime(year, number, 1) if year >= 1 and 1 <= number <= 12 else None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
