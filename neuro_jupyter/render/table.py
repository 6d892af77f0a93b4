"""One table, drawn as aligned text or as an HTML ``<table>``.

Cells are tuples of lines: ``a/b`` columns of a ps format stack two values in
one cell. Every HTML string is escaped here; a cell line that is an
``http(s)://`` URL becomes a link opening in a new tab.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Cell", "Column", "cell_html", "kv_html", "link_html", "table_html", "table_text"]

Cell = tuple[str, ...]
_GAP = "  "
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """A column's title and shape: ``align`` is left, right or center; ``min``,
    ``max`` and ``width`` bound its text width (``width`` fixes it)."""

    title: str
    align: str = "left"
    min: int | None = None
    max: int | None = None
    width: int | None = None

    def fit(self, natural: int) -> int:
        """The width this column takes when its widest line is ``natural``."""
        if self.width is not None:
            return self.width
        width = max(natural, len(self.title))
        if self.min is not None:
            width = max(width, self.min)
        if self.max is not None:
            width = min(width, self.max)
        return width


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + _ELLIPSIS if width else ""


def _pad(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def table_text(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> str:
    """The table as text: a title row, then each row (as many lines as its
    tallest cell), columns two spaces apart, no trailing spaces; ends with a newline."""
    widths = []
    for index, column in enumerate(columns):
        lines = [line for row in rows for line in row[index]]
        widths.append(column.fit(max((len(line) for line in lines), default=0)))
    out = [_line([(c.title,) for c in columns], columns, widths, 0)]
    for row in rows:
        height = max((len(cell) for cell in row), default=1) or 1
        out.extend(_line(row, columns, widths, n) for n in range(height))
    return "".join(line.rstrip() + "\n" for line in out)


def _line(row: Sequence[Cell], columns: Sequence[Column], widths: list[int], n: int) -> str:
    parts = []
    for cell, column, width in zip(row, columns, widths, strict=True):
        text = cell[n] if n < len(cell) else ""
        parts.append(_pad(_cut(text, width), width, column.align))
    return _GAP.join(parts)


def link_html(url: str, text: str | None = None) -> str:
    """An escaped ``<a>`` opening ``url`` in a new tab."""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener">'
        f"{html.escape(url if text is None else text)}</a>"
    )


def _line_html(text: str) -> str:
    if text.startswith(("http://", "https://")) and not any(c.isspace() for c in text):
        return link_html(text)
    return html.escape(text)


def cell_html(cell: Cell) -> str:
    """One cell as escaped HTML: its lines on lines, URL lines as links."""
    return "<br>".join(_line_html(line) for line in cell)


def _value_attr(cell: Cell) -> str:
    if len(cell) != 1 or len(cell[0]) > 32:
        return ""
    return f' data-value="{html.escape(cell[0], quote=True)}"'


def table_html(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], css_class: str = "neuro-table"
) -> str:
    """The table as escaped HTML; URL cells are links. Each cell names its
    column (``data-col``) and, when it is one short line, its value
    (``data-value``), so a stylesheet can colour e.g. a status."""
    head = "".join(f'<th style="text-align:{c.align}">{html.escape(c.title)}</th>' for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:{c.align}" data-col="{html.escape(c.title, quote=True)}"'
            f"{_value_attr(cell)}>{cell_html(cell)}</td>"
            for cell, c in zip(row, columns, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="{html.escape(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def kv_html(items: Sequence[tuple[str, str]], css_class: str = "neuro-fields") -> str:
    """Field/value pairs as a two-column escaped HTML table; URL values are links."""
    rows = "".join(
        f'<tr><th style="text-align:left">{html.escape(key)}</th>'
        f'<td style="text-align:left">{cell_html(tuple(value.split(chr(10))))}</td></tr>'
        for key, value in items
    )
    return f'<table class="{html.escape(css_class)}"><tbody>{rows}</tbody></table>'
