"""``ps``: Neu.ro's column spec and the jobs table, as text and HTML.

A format lists columns separated by commas or spaces. A column is a name
(``id``), two names stacked in one cell (``id/name``), or the full form
``{id;align=right;min=4;max=30;width=10;TITLE}``. Names are case-insensitive
and any unambiguous prefix works (``desc``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..jobs.errors import InvalidSpec
from ..jobs.parse import format_duration
from .humanize import format_when
from .table import Cell, Column, table_html, table_text

if TYPE_CHECKING:
    from ..client.models import Job

__all__ = [
    "COLUMNS",
    "DEFAULT_PS_FORMAT",
    "YOU",
    "PsColumn",
    "parse_ps_format",
    "ps_cells",
    "render_ps_html",
    "render_ps_text",
]

DEFAULT_PS_FORMAT = "id name status when image owner cluster_name description"
YOU = "<you>"
FIELD = "format"

Getter = Callable[["Job", str | None, datetime], str]


def _when(job: Job, me: str | None, now: datetime) -> str:
    if job.status == "pending":
        moment = job.created_at
    elif job.status == "running":
        moment = job.started_at or job.created_at
    else:
        moment = job.finished_at or job.created_at
    return format_when(moment, now)


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


COLUMNS: dict[str, tuple[str, Getter]] = {
    "id": ("ID", lambda j, me, now: j.id),
    "name": ("NAME", lambda j, me, now: j.name or ""),
    "tags": ("TAGS", lambda j, me, now: ",".join(j.tags)),
    "status": ("STATUS", lambda j, me, now: j.status),
    "when": ("WHEN", _when),
    "created": ("CREATED", lambda j, me, now: _time(j.created_at)),
    "started": ("STARTED", lambda j, me, now: _time(j.started_at)),
    "finished": ("FINISHED", lambda j, me, now: _time(j.finished_at)),
    "image": ("IMAGE", lambda j, me, now: j.image),
    "owner": ("OWNER", lambda j, me, now: YOU if j.owner == me else j.owner),
    "cluster_name": ("CLUSTER", lambda j, me, now: j.cluster),
    "description": ("DESCRIPTION", lambda j, me, now: j.description),
    "command": ("COMMAND", lambda j, me, now: j.command),
    "life_span": ("LIFE-SPAN", lambda j, me, now: format_duration(j.life_span)),
    "workdir": ("WORKDIR", lambda j, me, now: j.workdir or ""),
    "preset": ("PRESET", lambda j, me, now: j.preset),
    "http_url": ("HTTP URL", lambda j, me, now: j.http_url or ""),
}
_ALIASES = {"cluster": "cluster_name"}
_SIZES = ("min", "max", "width")
_ALIGNS = ("left", "right", "center")


@dataclass(frozen=True)
class PsColumn:
    """One column of a ps format: the fields stacked in it, and its shape."""

    fields: tuple[str, ...]
    column: Column


def _field(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in COLUMNS:
        return key
    matches = [c for c in COLUMNS if c.startswith(key)] if key else []
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(COLUMNS)
    what = "is ambiguous" if matches else "is unknown"
    raise InvalidSpec(FIELD, f"ps column {name.strip()!r} {what}: use one of {known}")


def _split(spec: str) -> list[str]:
    items = re.findall(r"\{[^{}]*\}|[^\s,{}]+|[{}]", spec)
    for item in items:
        if item in "{}":
            raise InvalidSpec(FIELD, f"ps format {spec!r} has an unbalanced brace")
    return items


def _full(item: str) -> PsColumn:
    parts = item[1:-1].split(";")
    fields = tuple(_field(f) for f in parts[0].split("/"))
    options: dict[str, str] = {}
    title = None
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep and key.strip() in (*_SIZES, "align"):
            options[key.strip()] = value.strip()
        elif title is None and not sep:
            title = part
        else:
            raise InvalidSpec(
                FIELD, f"ps column {item!r}: {part!r} is not align=, min=, max=, width= or a title"
            )
    align = options.get("align", "left")
    if align not in _ALIGNS:
        raise InvalidSpec(FIELD, f"ps column {item!r}: align is left, right or center")
    sizes: dict[str, int] = {}
    for key in _SIZES:
        if key in options:
            if not options[key].isdigit():
                raise InvalidSpec(FIELD, f"ps column {item!r}: {key} must be a whole number")
            sizes[key] = int(options[key])
    if title is None:
        title = "/".join(COLUMNS[f][0] for f in fields)
    return PsColumn(fields, Column(title, align, **sizes))


def parse_ps_format(spec: str) -> list[PsColumn]:
    """Parse a ps column spec.

    Raises:
        InvalidSpec: ``format``: an unknown or ambiguous column, a bad option, or no columns.
    """
    columns = []
    for item in _split(spec):
        if item.startswith("{"):
            columns.append(_full(item))
        else:
            fields = tuple(_field(f) for f in item.split("/"))
            columns.append(PsColumn(fields, Column("/".join(COLUMNS[f][0] for f in fields))))
    if not columns:
        raise InvalidSpec(FIELD, "ps format names no columns: e.g. 'id name status when'")
    return columns


def _rows(
    jobs: Sequence[Job], me: str | None, columns: Sequence[PsColumn], now: datetime | None
) -> list[list[Cell]]:
    now = datetime.now(timezone.utc) if now is None else now
    return [
        [tuple(COLUMNS[f][1](job, me, now) for f in column.fields) for column in columns]
        for job in jobs
    ]


def render_ps_text(
    jobs: Sequence[Job], me: str | None, format: str | None = None, now: datetime | None = None
) -> str:
    """The ``ps`` table as text (``format`` default: :data:`DEFAULT_PS_FORMAT`).

    Raises:
        InvalidSpec: ``format`` is not a valid column spec.
    """
    columns = parse_ps_format(format or DEFAULT_PS_FORMAT)
    return table_text([c.column for c in columns], _rows(jobs, me, columns, now))


def ps_cells(
    jobs: Sequence[Job], me: str | None, format: str | None = None, now: datetime | None = None
) -> tuple[list[PsColumn], list[list[Cell]]]:
    """The ``ps`` table's columns and, per job, its cells (for a table of widgets).

    Raises:
        InvalidSpec: ``format`` is not a valid column spec.
    """
    columns = parse_ps_format(format or DEFAULT_PS_FORMAT)
    return columns, _rows(jobs, me, columns, now)


def render_ps_html(
    jobs: Sequence[Job], me: str | None, format: str | None = None, now: datetime | None = None
) -> str:
    """The ``ps`` table as escaped HTML.

    Raises:
        InvalidSpec: ``format`` is not a valid column spec.
    """
    columns = parse_ps_format(format or DEFAULT_PS_FORMAT)
    return table_html([c.column for c in columns], _rows(jobs, me, columns, now), "neuro-ps")
