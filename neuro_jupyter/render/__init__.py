"""One set of renderers, text and HTML, for the CLI, the magics and ``_repr_html_``.

Text renderers return ``str`` ending in a newline; HTML renderers return a
fragment in which every value is escaped and Http URLs are links that open
in a new tab. Renderers take parsed client records (``client.Job``,
``client.Sample``, ``jobs.model.Preset``) and do no I/O.

Importing this package registers the job renderers with
:func:`neuro_jupyter.client.models.register_renderer`, so a ``Job`` shows
itself without the models importing rendering.
"""

from __future__ import annotations

from ..client.models import register_renderer
from .humanize import format_cpu, format_gpu, format_life_span, format_memory, format_when
from .ps import DEFAULT_PS_FORMAT, YOU, parse_ps_format, render_ps_html, render_ps_text
from .status import render_status_html, render_status_text, status_fields, status_line
from .table import link_html
from .views import (
    render_config_html,
    render_config_text,
    render_presets_html,
    render_presets_text,
    render_run_header,
    render_run_header_html,
    render_shares_html,
    render_shares_text,
    render_top_header,
    render_top_html,
    render_top_row,
    render_top_text,
    shortcuts,
)

__all__ = [
    "DEFAULT_PS_FORMAT",
    "YOU",
    "format_cpu",
    "format_gpu",
    "format_life_span",
    "format_memory",
    "format_when",
    "link_html",
    "parse_ps_format",
    "render_config_html",
    "render_config_text",
    "render_presets_html",
    "render_presets_text",
    "render_ps_html",
    "render_ps_text",
    "render_run_header",
    "render_run_header_html",
    "render_shares_html",
    "render_shares_text",
    "render_status_html",
    "render_status_text",
    "render_top_header",
    "render_top_html",
    "render_top_row",
    "render_top_text",
    "shortcuts",
    "status_fields",
    "status_line",
]

register_renderer("job/html", render_status_html)
register_renderer("job/text", render_status_text)
