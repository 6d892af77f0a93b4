"""``JobRows``: the ``ps`` table as a grid of widgets whose rows you click.

Issue 12: :class:`~.joblist.JobList`'s rows open a monitor when clicked. An
HTML table cannot call back into the kernel, so each cell of a row is a flat
button that opens that row's job; the Http URL column stays a link (clicking
it opens the job's web app, not a monitor). A CSS grid keeps the columns
aligned, and each status is coloured as in the HTML ``ps`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ..client import Job
from ..render.ps import PsColumn, ps_cells
from ..render.table import Cell, cell_html
from .views import STATUS_COLORS

__all__ = ["ROWS_STYLE", "JobRows"]

#: Flat, left-aligned cells that show they can be clicked.
ROWS_STYLE = (
    "<style>"
    ".neuro-jobrows .neuro-jobrows-cell { background: transparent; box-shadow: none;"
    " text-align: left; padding: 0 4px; height: auto; line-height: 1.6; margin: 0;"
    " overflow: hidden; text-overflow: ellipsis; cursor: pointer; }"
    ".neuro-jobrows .neuro-jobrows-cell:hover { text-decoration: underline; }"
    ".neuro-jobrows .neuro-jobrows-head { padding: 0 4px; font-weight: 600; }"
    ".neuro-jobrows .widget-html-content { line-height: 1.6; }"
    "</style>"
)


def _is_url_column(column: PsColumn) -> bool:
    return "http_url" in column.fields


def _text(cell: Cell) -> str:
    return " / ".join(line for line in cell if line)


class JobRows(widgets.GridBox):  # type: ignore[misc]
    """One row per job, its cells aligned in a grid; a click opens the job.

    Args:
        on_open: called with the id of the job whose row was clicked.
    """

    def __init__(self, on_open: Callable[[str], object]) -> None:
        super().__init__(layout=widgets.Layout(grid_gap="0 8px", align_items="center"))
        self.add_class("neuro-jobrows")
        self._on_open = on_open
        self._columns: list[PsColumn] = []
        self._head: list[widgets.HTML] = []
        #: The widgets of each job's row, by job id, in column order.
        self.cells: dict[str, list[widgets.Widget]] = {}
        self._order: list[str] = []

    @property
    def titles(self) -> list[str]:
        """The column titles, as the header row shows them."""
        return [column.column.title for column in self._columns]

    def row_button(self, job_id: str) -> widgets.Button:
        """The first clickable cell of ``job_id``'s row (every cell of it opens the job)."""
        return next(w for w in self.cells[job_id] if isinstance(w, widgets.Button))

    def row_text(self, job_id: str) -> list[str]:
        """What each cell of ``job_id``'s row says (a link's HTML for the URL column)."""
        return [w.description if isinstance(w, widgets.Button) else w.value
                for w in self.cells[job_id]]  # fmt: skip

    def show(self, jobs: Sequence[Job], me: str | None, format: str) -> None:
        """Show ``jobs`` (newest first) in ``format``'s columns, reusing rows.

        Raises:
            InvalidSpec: ``format`` is not a valid column spec.
        """
        columns, rows = ps_cells(jobs, me, format)
        if [c.column for c in columns] != [c.column for c in self._columns]:
            self._reset(columns)
        for job, row in zip(jobs, rows, strict=True):
            self._fill(job, row)
        order = [job.id for job in jobs]
        for gone in set(self.cells) - set(order):
            for widget in self.cells.pop(gone):
                widget.close()
        if order != self._order:
            self._order = order
            self.children = [*self._head, *(w for job_id in order for w in self.cells[job_id])]

    def _reset(self, columns: list[PsColumn]) -> None:
        for widget in [*self._head, *(w for row in self.cells.values() for w in row)]:
            widget.close()
        self.cells, self._order, self._columns = {}, [], columns
        self._head = []
        for column in columns:
            head = widgets.HTML(column.column.title)
            head.add_class("neuro-jobrows-head")
            self._head.append(head)
        self.layout.grid_template_columns = " ".join("max-content" for _ in columns)
        self.children = list(self._head)

    def _fill(self, job: Job, row: list[Cell]) -> None:
        cells = self.cells.get(job.id)
        if cells is None:
            cells = self.cells[job.id] = [self._cell(job.id, c) for c in self._columns]
        for widget, cell, column in zip(cells, row, self._columns, strict=True):
            if isinstance(widget, widgets.HTML):
                widget.value = cell_html(cell)
                continue
            widget.description = _text(cell)
            if "status" in column.fields:
                widget.style.text_color = STATUS_COLORS.get(job.status, "")
                widget.style.font_weight = "600"

    def _cell(self, job_id: str, column: PsColumn) -> widgets.Widget:
        if _is_url_column(column):
            return widgets.HTML()
        button = widgets.Button(
            tooltip=f"Monitor {job_id} below", layout=widgets.Layout(width="auto", height="auto")
        )
        button.add_class("neuro-jobrows-cell")
        button.on_click(lambda _: self._on_open(job_id))
        return button

    def close(self) -> None:
        """Close every row and the grid."""
        for widget in [*self._head, *(w for row in self.cells.values() for w in row)]:
            widget.close()
        super().close()
