"""Values for people: "6 seconds ago", ``2.0G``, ``1d2h``, ``1 x nvidia-tesla-k80``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..jobs.parse import format_duration

__all__ = ["format_cpu", "format_gpu", "format_life_span", "format_memory", "format_when"]

_MONTH_FORMAT = "%b %d"


def _ago(count: int, unit: str) -> str:
    if count == 1:
        article = "an" if unit == "hour" else "a"
        return f"{article} {unit} ago"
    return f"{count} {unit}s ago"


def format_when(moment: datetime | None, now: datetime | None = None) -> str:
    """A past time as Neu.ro's WHEN column shows it.

    Under a day: ``now``, ``6 seconds ago``, ``a minute ago``, ``3 hours ago``;
    the day before: ``yesterday``; this year: ``May 24``; else ``May 24 2020``.
    Times in the future (clock skew) read ``now``; None reads as empty.
    """
    if moment is None:
        return ""
    now = datetime.now(timezone.utc) if now is None else now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = int((now - moment).total_seconds())
    if seconds < 1:
        return "now"
    if seconds < 60:
        return _ago(seconds, "second")
    if seconds < 3600:
        return _ago(seconds // 60, "minute")
    if seconds < 86400:
        return _ago(seconds // 3600, "hour")
    local = moment.astimezone(now.tzinfo)
    if local.date() == (now - timedelta(days=1)).date():
        return "yesterday"
    if local.year == now.year:
        return local.strftime(_MONTH_FORMAT)
    return local.strftime(f"{_MONTH_FORMAT} %Y")


def format_memory(size: int) -> str:
    """Bytes as Neu.ro's preset tables show them: ``2.0G``, ``512.0M`` (binary units)."""
    if size >= 2**30:
        return f"{size / 2**30:.1f}G"
    if size >= 2**20:
        return f"{size / 2**20:.1f}M"
    return f"{size}B"


def format_cpu(cpu: float) -> str:
    """CPUs with one decimal: ``1.0``, ``0.5``."""
    return f"{cpu:.1f}"


def format_gpu(count: int, model: str | None) -> str:
    """``1 x nvidia-tesla-k80``, ``2`` without a model, empty without GPUs."""
    if not count:
        return ""
    return f"{count} x {model}" if model else str(count)


def format_life_span(seconds: int) -> str:
    """A life span as ``status`` shows it: ``1d``, ``2h30m``, or ``no limit``."""
    return "no limit" if seconds <= 0 else format_duration(seconds)
