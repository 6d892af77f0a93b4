"""``JobList()``: the ``ps`` table, live, with ``ps``'s filters as inputs.

Filters: status (one choice: live jobs, all, or one status), owner (``ME``
for you), name, tag, since and until, the same words ``%neuro ps`` takes. The
API checks them; its message shows beside the filter it names. A daemon
thread reads the list when the server pushes a job change (``GET events``),
when a filter changes, and every ``refresh`` seconds only while the push
stream is down; it only sets values and makes the rows of new jobs.
Click a job's row to watch it in a :class:`JobMonitor` below the table.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..cli.context import current_user
from ..client import ApiConfig, AsyncNeuroClient, InvalidSpec, Job, NeuroClient, NeuroError
from ..jobs.model import JobStatus
from ..jobs.parse import localize_time
from ..render.ps import DEFAULT_PS_FORMAT
from ..userconfig import load_user_config
from .background import Background
from .jobrows import ROWS_STYLE, JobRows
from .monitor import JobMonitor

__all__ = ["JobList"]

_FILTERS = ("status", "all", "owner", "name", "tag", "since", "until")

#: The status filter's choices beside the single statuses: ``ps``'s default and ``--all``.
LIVE, ALL = "live (pending, running)", "all"


def status_choices(initial: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The status dropdown's options: live jobs, all, each status, and
    ``initial`` when it is none of those (``JobList(status=[...])`` with several
    statuses; an unknown one is the API's to refuse, beside the filter)."""
    choices = [(LIVE, ()), (ALL, ("all",)), *((s.value, (s.value,)) for s in JobStatus)]
    given = tuple(initial)
    if given not in [value for _, value in choices]:
        choices.append((", ".join(given), given))
    return choices


@dataclass(frozen=True)
class PsFilters:
    """What the list shows, as ``ps`` options (read from the inputs on the caller's thread)."""

    status: tuple[str, ...] = ()
    all: bool = False
    owner: tuple[str, ...] = ()
    name: str | None = None
    tag: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None


def _with_url(format: str) -> str:
    return format if "http_url" in format.split() else f"{format} http_url"


def _text(value: str) -> str | None:
    return value.strip() or None


def _local(value: str | None) -> str | None:
    """A time typed without a zone is this kernel's local time, as ``%neuro ps`` reads it."""
    return None if value is None else localize_time(value)


class JobList(widgets.VBox):  # type: ignore[misc]
    """The jobs you may see, newest first, refreshed in the background.

    Args:
        status, all, owner, name, tag, since, until: the initial filters, as ``ps``.
        config: where the API is (default: found from the environment).
        refresh: seconds between two reads of the list while pushes are down.
        format: the table's columns (default: ``user.toml``'s ``ps-format``).
        monitor: keyword arguments for the :class:`JobMonitor` Monitor makes.
    """

    def __init__(
        self,
        *,
        status: Sequence[str] = (),
        all: bool = False,
        owner: Sequence[str] = (),
        name: str | None = None,
        tag: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        config: ApiConfig | None = None,
        refresh: float = 5.0,
        format: str | None = None,
        monitor: dict[str, Any] | None = None,
    ) -> None:
        self.config = config if config is not None else ApiConfig.discover()
        self.refresh_every = refresh
        # The user's ps columns, and the Http URL (issue 12).
        self.format = format or _with_url(load_user_config().ps_format or DEFAULT_PS_FORMAT)
        self.monitor_options = dict(monitor or {})
        with NeuroClient(self.config) as client:
            self.me = current_user(client)
        #: The jobs of the last read, newest first.
        self.jobs: list[Job] = []
        self.monitor: JobMonitor | None = None
        self._filters_widgets(PsFilters(tuple(status), all, tuple(owner), name, tuple(tag),
                                        since, until))  # fmt: skip
        self._table_widgets()
        super().__init__(children=[self.filters_box, self.table, self.table_note, self.monitor_box])
        self._version = 0
        self.filters = self._read_filters()
        self._background = Background(self.config, self._show_error, "neuro-joblist")
        self._background.submit(self._refresh_loop)

    def _filters_widgets(self, initial: PsFilters) -> None:
        choices = status_choices(initial.status)
        value = ("all",) if initial.all else tuple(initial.status)
        self.status_filter = widgets.Dropdown(options=choices, value=value, description="status")
        texts = {
            "owner": (" ".join(initial.owner), "users; ME for you"),
            "name": (initial.name or "", "exact job name"),
            "tag": (" ".join(initial.tag), "tags, all must match"),
            "since": (initial.since or "", "ISO time (local) or 1d2h ago"),
            "until": (initial.until or "", "ISO time (local) or 1d2h ago"),
        }
        self.text_filters = {
            key: widgets.Text(value=value, placeholder=hint, description=key,
                              continuous_update=False)
            for key, (value, hint) in texts.items()
        }  # fmt: skip
        #: The API's message beside each filter, by the filter's name.
        self.filter_errors = {key: widgets.HTML() for key in _FILTERS}
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        for widget in (self.status_filter, *self.text_filters.values()):
            widget.observe(lambda _: self.refresh(), names="value")
        column = [
            widgets.HBox([self.text_filters[k], self.filter_errors[k]]) for k in self.text_filters
        ]
        left = widgets.VBox([
            widgets.HBox([self.status_filter, self.filter_errors["status"],
                          self.filter_errors["all"]]),
            self.refresh_button,
        ])  # fmt: skip
        self.message = widgets.HTML()
        self.filters_box = widgets.VBox([widgets.HBox([left, widgets.VBox(column)]), self.message])

    def _table_widgets(self) -> None:
        #: The rows; clicking one opens its job in a monitor below.
        self.table = JobRows(lambda job_id: self.open_monitor(job_id))
        self.table_note = widgets.HTML(ROWS_STYLE + "<i>loading…</i>")
        self.monitor_box = widgets.VBox()

    def _read_filters(self) -> PsFilters:
        text = {key: widget.value for key, widget in self.text_filters.items()}
        owners = tuple((self.me or "ME") if o == "ME" else o for o in text["owner"].split())
        picked = tuple(self.status_filter.value)
        return PsFilters(
            status=() if picked == ("all",) else picked, all=picked == ("all",),
            owner=owners, name=_text(text["name"]), tag=tuple(text["tag"].split()),
            since=_text(text["since"]), until=_text(text["until"]),
        )  # fmt: skip

    # What the user does, on the caller's thread.

    def refresh(self) -> None:
        """Read the list again now, with the filters as they are."""
        self.filters = self._read_filters()
        self._version += 1
        self._background.submit(self._fetch)

    def open_monitor(self, job: str) -> JobMonitor:
        """Watch ``job`` (an id or name) in a :class:`JobMonitor` below the list,
        in place of the one shown; what clicking a row does."""
        if self.monitor is not None:
            self.monitor.close()
        self.monitor = JobMonitor(job, config=self.config, **self.monitor_options)
        self.monitor_box.children = [self.monitor]
        return self.monitor

    @property
    def following(self) -> bool:
        """Whether the background thread still runs."""
        return self._background.running

    def close(self) -> None:
        """Stop refreshing and close the list, its monitor and its parts."""
        self._background.stop()
        if self.monitor is not None:
            self.monitor.close()
        parts = [self.status_filter, *self.text_filters.values(),
                 *self.filter_errors.values(), self.refresh_button, self.message,
                 self.filters_box, self.table, self.table_note, self.monitor_box]  # fmt: skip
        for part in parts:
            part.close()
        super().close()

    # What the background thread does.

    def _show_error(self, message: str) -> None:
        self.message.value = f'<span style="color: #dc322f">{html.escape(message)}</span>'

    async def _refresh_loop(self, client: AsyncNeuroClient) -> None:
        """The list, read again on each change the server pushes (``GET
        events``; a burst is one read); every ``refresh`` seconds only while
        that stream is down (issue 12)."""
        last: str | None = None
        while True:
            await self._fetch(client)
            try:
                async for _change in client.events(last):
                    await self._fetch(client)
            except NeuroError:
                pass  # the stream dropped: poll, then try it again
            await asyncio.sleep(self.refresh_every)

    async def _fetch(self, client: AsyncNeuroClient) -> None:
        version, f = self._version, self.filters
        try:
            jobs = await client.jobs(
                status=f.status, all=f.all, owner=f.owner, name=f.name, tag=f.tag,
                since=_local(f.since), until=_local(f.until),
            )  # fmt: skip
        except NeuroError as error:
            if version == self._version:
                self._show_failure(error)
            return
        if version == self._version:
            self._show_jobs(jobs)

    def _show_failure(self, error: NeuroError) -> None:
        for label in self.filter_errors.values():
            label.value = ""
        field = error.field if isinstance(error, InvalidSpec) else ""
        label = self.filter_errors.get(field)
        if label is None:
            self._show_error(str(error))
        else:
            self.message.value = ""
            label.value = f'<span style="color: #dc322f">{html.escape(str(error))}</span>'

    def _show_jobs(self, jobs: list[Job]) -> None:
        for label in self.filter_errors.values():
            label.value = ""
        self.message.value = ""
        self.jobs = jobs
        try:
            self.table.show(jobs, self.me, self.format)
        except InvalidSpec as error:  # a bad ps-format in user.toml
            self._show_error(str(error))
            return
        note = "" if jobs else "<i>No jobs match these filters.</i>"
        self.table_note.value = ROWS_STYLE + note
