"""The smaller views: ``config show``, ``top``, ``run``'s header, shares, links."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..jobs.model import Preset
from .humanize import format_cpu, format_gpu, format_memory
from .table import Column, kv_html, link_html, table_html, table_text

if TYPE_CHECKING:
    from ..client.models import Job, Sample

__all__ = [
    "render_config_html",
    "render_config_text",
    "render_presets_html",
    "render_presets_text",
    "render_run_header",
    "render_run_header_html",
    "render_shares_html",
    "render_shares_text",
    "render_top_header",
    "render_top_html",
    "render_top_row",
    "render_top_text",
    "shortcuts",
]

_PRESETS = (
    Column("Name"),
    Column("CPU", "right"),
    Column("Memory", "right"),
    Column("Preemptible", "center"),
    Column("GPU"),
)
_TOP = (
    Column("TIMESTAMP", width=19),
    Column("CPU (%)", "right"),
    Column("MEMORY (MB)", "right"),
    Column("GPU (%)", "right"),
    Column("GPU_MEMORY (MB)", "right"),
)
_SHARES = (Column("USER"), Column("LEVEL"))


def _preset_rows(presets: Sequence[Preset]) -> list[list[tuple[str, ...]]]:
    return [
        [
            (p.name,),
            (format_cpu(p.cpu),),
            (format_memory(p.memory),),
            ("Yes" if p.preemptible else "No",),
            (format_gpu(p.gpu, p.gpu_model),),
        ]
        for p in presets
    ]


def _indent(text: str, prefix: str) -> str:
    return "".join(f"{prefix}{line}\n" for line in text.splitlines())


def render_presets_text(presets: Sequence[Preset]) -> str:
    """``Resource Presets:`` and the Name / CPU / Memory / Preemptible / GPU table."""
    return "Resource Presets:\n" + _indent(table_text(_PRESETS, _preset_rows(presets)), "  ")


def render_presets_html(presets: Sequence[Preset]) -> str:
    """The presets table as escaped HTML."""
    return table_html(_PRESETS, _preset_rows(presets), "neuro-presets")


def _config_items(user: str | None, api_url: str, default_preset: str) -> list[tuple[str, str]]:
    items = [("User Name", user)] if user else []
    return [*items, ("API URL", api_url), ("Default Preset", default_preset)]


def render_config_text(
    user: str | None, api_url: str, presets: Sequence[Preset], default_preset: str
) -> str:
    """``config show``: the user, the API and the presets, as ``neuro config show``."""
    lines = "".join(f"  {k}: {v}\n" for k, v in _config_items(user, api_url, default_preset))
    return "User Configuration:\n" + lines + _indent(render_presets_text(presets), "  ")


def render_config_html(
    user: str | None, api_url: str, presets: Sequence[Preset], default_preset: str
) -> str:
    """``config show`` as escaped HTML."""
    fields = kv_html(_config_items(user, api_url, default_preset))
    table = render_presets_html(presets)
    return f'<div class="neuro-config">{fields}<h4>Resource Presets</h4>{table}</div>'


def _mb(size: int | None) -> str:
    return "" if size is None else f"{size / 2**20:.1f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _top_cells(sample: Sample) -> list[tuple[str, ...]]:
    stamp = sample.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    values = (stamp, _pct(sample.cpu), _mb(sample.memory), _pct(sample.gpu), _mb(sample.gpu_memory))
    return [(value,) for value in values]


def render_top_header() -> str:
    """The title line of the streamed ``top`` table."""
    return table_text(_TOP, []).splitlines()[0] + "\n"


def render_top_row(sample: Sample) -> str:
    """One streamed ``top`` line, aligned under :func:`render_top_header`."""
    widths = [c.width or len(c.title) for c in _TOP]
    fixed = [Column("", c.align, width=w) for c, w in zip(_TOP, widths, strict=True)]
    return table_text(fixed, [_top_cells(sample)]).splitlines()[1] + "\n"


def render_top_text(samples: Sequence[Sample]) -> str:
    """The whole ``top`` table for ``samples``."""
    return render_top_header() + "".join(render_top_row(s) for s in samples)


def render_top_html(samples: Sequence[Sample]) -> str:
    """The ``top`` table as escaped HTML."""
    return table_html(_TOP, [_top_cells(s) for s in samples], "neuro-top")


def shortcuts(ref: str, prog: str) -> list[tuple[str, str]]:
    """The ``Shortcuts:`` commands for the job ``ref`` and what each does."""
    return [
        (f"{prog} status {ref}", "check job status"),
        (f"{prog} logs {ref}", "monitor job stdout"),
        (f"{prog} top {ref}", "display real-time job telemetry"),
        (f"{prog} exec {ref} bash", "execute bash shell to the job"),
        (f"{prog} kill {ref}", "kill job"),
    ]


def render_run_header(job: Job, prog: str) -> str:
    """What ``run`` prints first: Job ID, Status, Name, Http URL and the shortcuts."""
    lines = [f"Job ID: {job.id}", f"Status: {job.status}"]
    if job.name:
        lines.append(f"Name: {job.name}")
    if job.http_url:
        lines.append(f"Http URL: {job.http_url}")
    pairs = shortcuts(job.name or job.id, prog)
    width = max(len(command) for command, _ in pairs)
    lines.append("Shortcuts:")
    lines.extend(f"  {command.ljust(width)}  # {what}" for command, what in pairs)
    return "".join(line + "\n" for line in lines)


def render_run_header_html(job: Job, prog: str) -> str:
    """The run header as escaped HTML; the Http URL is a link."""
    rows = [f"Job ID: {html.escape(job.id)}", f"Status: {html.escape(job.status)}"]
    if job.name:
        rows.append(f"Name: {html.escape(job.name)}")
    if job.http_url:
        rows.append(f"Http URL: {link_html(job.http_url)}")
    rows.append("Shortcuts:")
    rows.extend(
        f"&nbsp;&nbsp;<code>{html.escape(c)}</code> # {html.escape(w)}"
        for c, w in shortcuts(job.name or job.id, prog)
    )
    return '<div class="neuro-run">' + "<br>".join(rows) + "</div>"


def _share_rows(shares: Sequence[Mapping[str, str]]) -> list[list[tuple[str, ...]]]:
    return [[(s.get("user", ""),), (s.get("level", ""),)] for s in shares]


def render_shares_text(shares: Sequence[Mapping[str, str]]) -> str:
    """Who a job is shared with: USER and LEVEL."""
    return table_text(_SHARES, _share_rows(shares))


def render_shares_html(shares: Sequence[Mapping[str, str]]) -> str:
    """The shares table as escaped HTML."""
    return table_html(_SHARES, _share_rows(shares), "neuro-shares")
