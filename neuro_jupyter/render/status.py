"""``status``: one job's fields in Neu.ro's order, then its status history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .humanize import format_cpu, format_gpu, format_life_span, format_memory
from .table import Column, kv_html, table_html, table_text

if TYPE_CHECKING:
    from ..client.models import Job

__all__ = ["render_status_html", "render_status_text", "status_fields", "status_line"]

Field = tuple[str, tuple[str, ...]]
"""A field's label and its lines (one line for a plain value, more for a block)."""

_HISTORY = (Column("STATUS"), Column("REASON"), Column("TIME"), Column("DESCRIPTION"))


def status_line(status: str, reason: str) -> str:
    """``running``, or ``failed (OOMKilled)`` when there is a reason."""
    return f"{status} ({reason})" if reason else status


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def _resources(job: Job) -> tuple[str, ...]:
    preset = job.resources
    lines = [f"Memory: {format_memory(preset.memory)}", f"CPU: {format_cpu(preset.cpu)}"]
    if preset.gpu:
        lines.append(f"GPU: {format_gpu(preset.gpu, preset.gpu_model)}")
    return tuple(lines)


def _life_span_end(job: Job, now: datetime) -> datetime | None:
    if job.status != "running" or job.life_span <= 0:
        return None
    left = max(job.life_span - job.run_time_seconds, 0.0)
    return now + timedelta(seconds=left)


def _head(job: Job) -> list[Field]:
    fields: list[Field] = [("Job", (job.id,))]
    if job.name:
        fields.append(("Name", (job.name,)))
    if job.tags:
        fields.append(("Tags", (", ".join(job.tags),)))
    fields += [("Owner", (job.owner,)), ("Cluster", (job.cluster,))]
    if job.description:
        fields.append(("Description", (job.description,)))
    fields.append(("Status", (status_line(job.status, job.reason),)))
    if job.status_description:
        fields.append(("Status description", (job.status_description,)))
    fields.append(("Image", (job.image,)))
    if job.command:
        fields.append(("Command", (job.command,)))
    if job.workdir:
        fields.append(("Working dir", (job.workdir,)))
    return fields


def _body(job: Job) -> list[Field]:
    fields: list[Field] = [
        ("Preset", (job.preset,)),
        ("Resources", _resources(job)),
        ("Preemptible", (str(job.resources.preemptible),)),
        ("Life span", (format_life_span(job.life_span),)),
    ]
    if job.restart and job.restart != "never":
        fields.append(("Restart policy", (job.restart,)))
    if job.volumes:
        fields.append(("Volumes", tuple(job.volumes)))
    if job.http_url:
        fields.append(("Http URL", (job.http_url,)))
    if job.http_port is not None:
        fields += [
            ("Http port", (str(job.http_port),)),
            ("Http authentication", (str(job.http_auth),)),
        ]
    if job.env:
        fields.append(("Environment", tuple(f"{k}={v}" for k, v in job.env.items())))
    return fields


def _times(job: Job, now: datetime) -> list[Field]:
    fields: list[Field] = [("Created", (_time(job.created_at),))]
    if job.started_at is not None:
        fields.append(("Started", (_time(job.started_at),)))
    ends = _life_span_end(job, now)
    if ends is not None:
        fields.append(("Life span ends (approx)", (_time(ends),)))
    if job.finished_at is not None:
        fields.append(("Finished", (_time(job.finished_at),)))
    if job.exit_code is not None:
        fields.append(("Exit code", (str(job.exit_code),)))
    return fields


def status_fields(job: Job, now: datetime | None = None) -> list[Field]:
    """The fields ``status`` shows, in Neu.ro's order; optional ones only when set."""
    now = datetime.now(timezone.utc) if now is None else now
    return _head(job) + _body(job) + _times(job, now)


def _history_rows(job: Job) -> list[list[tuple[str, ...]]]:
    return [
        [(item.status,), (item.reason,), (_time(item.at),), (item.description,)]
        for item in job.history
    ]


def render_status_text(job: Job, now: datetime | None = None) -> str:
    """``status`` as text: ``Label: value`` lines, blocks indented, then the history."""
    lines = []
    for label, values in status_fields(job, now):
        if len(values) == 1 and label not in ("Resources", "Volumes", "Environment"):
            lines.append(f"{label}: {values[0]}\n")
        else:
            lines.append(f"{label}:\n")
            lines.extend(f"  {value}\n" for value in values)
    if job.history:
        lines.append("Status transitions:\n")
        table = table_text(_HISTORY, _history_rows(job))
        lines.extend(f"  {line}\n" for line in table.splitlines())
    return "".join(lines)


def render_status_html(job: Job, now: datetime | None = None) -> str:
    """``status`` as escaped HTML: a field table (the Http URL a link), then the history."""
    items = [(label, "\n".join(values)) for label, values in status_fields(job, now)]
    history = table_html(_HISTORY, _history_rows(job), "neuro-history") if job.history else ""
    return f'<div class="neuro-status">{kv_html(items)}{history}</div>'
