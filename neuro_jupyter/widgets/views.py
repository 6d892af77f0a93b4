"""Small pure views the widgets show: a status badge, the elapsed time, a link, a preset.

Pure (no widgets, no I/O): each takes parsed client records and returns text
or escaped HTML.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from ..client import Job
from ..jobs.durations import format_duration
from ..render import status_line

__all__ = ["STATUS_COLORS", "elapsed_text", "open_url_html", "status_badge_html"]

STATUS_COLORS = {
    "pending": "#b58900",
    "running": "#268bd2",
    "succeeded": "#2aa198",
    "failed": "#dc322f",
    "cancelled": "#6c71c4",
}


def _seconds(start: datetime, end: datetime) -> str:
    seconds = int((end - start).total_seconds())
    return format_duration(seconds) if seconds > 0 else "0s"


def elapsed_text(job: Job, now: datetime | None = None) -> str:
    """How long the job has been in its state, to follow its status badge:
    ``for 3s`` (pending), ``for 1m5s`` (running), ``ran for 2h``, ``ended
    after 4s`` (never ran). The badge says the status; "running running for"
    said it twice (issue 12)."""
    now = datetime.now(timezone.utc) if now is None else now
    if job.status == "pending":
        return f"for {_seconds(job.created_at, now)}"
    if job.started_at is None:
        end = job.finished_at or now
        return f"ended after {_seconds(job.created_at, end)}"
    if job.finished_at is None:
        return f"for {_seconds(job.started_at, now)}"
    return f"ran for {_seconds(job.started_at, job.finished_at)}"


def status_badge_html(job: Job) -> str:
    """``running``, ``failed (OOMKilled)`` as a coloured badge, with the
    status description and exit code after it."""
    color = STATUS_COLORS.get(job.status, "#586e75")
    words = html.escape(status_line(job.status, job.reason))
    badge = f'<b style="color: {color}">{words}</b>'
    extra = []
    if job.status_description:
        extra.append(html.escape(job.status_description))
    if job.exit_code is not None:
        extra.append(f"exit code {job.exit_code}")
    return badge + (f" <span>{'; '.join(extra)}</span>" if extra else "")


def open_url_html(job: Job) -> str:
    """A button-like link to the job's Http URL while it runs; empty otherwise."""
    if not job.http_url or job.status != "running":
        return ""
    url = html.escape(job.http_url, quote=True)
    return (
        f'<a class="jupyter-button mod-info" href="{url}" target="_blank" '
        f'rel="noopener noreferrer" style="padding: 0 1em; line-height: 28px; '
        f'text-decoration: none">Open URL</a>'
    )
