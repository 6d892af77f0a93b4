"""``JobMonitor(job)``: one job's status, output, telemetry and history, live.

A daemon thread (:class:`~.background.Background`) follows the job through the
API: it follows the record's changes as the server pushes them (``GET
events``; it polls only while that stream is down), streams the output (from
its last lines, ``logs?tail=``) into a bounded
:class:`~.logbuffer.LogBuffer` and the telemetry into a
:class:`~.plot.TelemetrySeries`, and only sets the widgets' values. It ends
when the job has finished and its output is read, or when the monitor is
closed. Kill runs on the caller's thread.
"""

from __future__ import annotations

import asyncio
import codecs
import html
import threading
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, Unicode

from ..client import ApiConfig, AsyncNeuroClient, Job, NeuroClient, NeuroError
from ..render import render_status_html
from .background import Background, closing
from .logbuffer import LogBuffer
from .plot import TelemetrySeries, telemetry_svg
from .views import elapsed_text, open_url_html, status_badge_html

__all__ = ["JobMonitor"]

#: The log on screen is replaced at most this often (seconds).
LOG_FLUSH = 0.2


class JobMonitor(widgets.VBox):  # type: ignore[misc]
    """A live view of one job: status, elapsed time, output, telemetry, history.

    Args:
        job: a :class:`~neuro_jupyter.client.Job`, or its id or name.
        config: where the API is (default: found from the environment).
        poll: seconds between two reads of the job's record.
        log_lines, log_chars: how much of the output is kept (the last lines).
        samples: how many telemetry samples the plot keeps.
        interval: seconds between two telemetry samples.
    """

    #: The job's status (``pending``, ``running``, ``succeeded``, ...); empty until known.
    status = Unicode("", help="the job's status")
    #: The reason of the status (``Scheduling``, ``Error``, ``UserRequested``, ...).
    reason = Unicode("", help="the reason of the status")
    #: True once the job has finished and its output has been read.
    done = Bool(False, help="the job has finished and the monitor stopped following it")

    def __init__(
        self,
        job: Job | str,
        *,
        config: ApiConfig | None = None,
        poll: float = 1.0,
        log_lines: int = 1000,
        log_chars: int = 200_000,
        samples: int = 120,
        interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        self.config = config if config is not None else ApiConfig.discover()
        self.job: Job | None = job if isinstance(job, Job) else None
        self.ref = job.id if isinstance(job, Job) else job
        self.poll, self.interval = poll, interval
        self._buffer = LogBuffer(log_lines, log_chars)
        self._series = TelemetrySeries(samples)
        self._client: NeuroClient | None = None
        self._finished = threading.Event()
        self._last_flush = 0.0
        self._flush_later: asyncio.TimerHandle | None = None
        self._build()
        super().__init__(children=[self.header, self.error, self.tabs], **kwargs)
        if self.job is not None:
            self._show(self.job)
        self._background = Background(self.config, self._show_error, f"neuro-monitor-{self.ref}")
        self._background.submit(self._follow)

    def _build(self) -> None:
        self.title = widgets.HTML()
        self.status_html = widgets.HTML("<i>loading…</i>")
        self.elapsed = widgets.Label()
        self.kill_button = widgets.Button(
            description="Kill", button_style="danger", icon="stop", tooltip="Kill the job"
        )
        self.kill_button.on_click(lambda _: self.kill())
        self.open_url = widgets.HTML()
        self.header = widgets.HBox(
            [self.title, self.status_html, self.elapsed, self.kill_button, self.open_url],
            layout=widgets.Layout(align_items="center"),
        )
        self.error = widgets.HTML()
        # The latest output, readable in light and dark themes: a <pre> in a
        # column-reverse box, which browsers keep scrolled to its end (a
        # Textarea showed the first lines of a long-running job, issue 12).
        self.output = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.plot = widgets.HTML(telemetry_svg([]))
        self.details = widgets.HTML()
        self.tabs = widgets.Tab(
            children=[self.output, self.plot, self.details],
            titles=("Log", "Telemetry", "Details and history"),
        )
        self._parts = [self.title, self.status_html, self.elapsed, self.kill_button,
                       self.open_url, self.header, self.error, self.output, self.plot,
                       self.details, self.tabs]  # fmt: skip

    # What the user does, on the caller's thread.

    def kill(self) -> Job | None:
        """Kill the job (what the Kill button does); the monitor shows it ending."""
        self.kill_button.disabled = True
        try:
            job = self._sync_client().kill(self.ref, wait=False)
        except NeuroError as error:
            self.kill_button.disabled = False
            self._show_error(str(error))
            return None
        self._show(job)
        return job

    def wait(self, timeout: float | None = None) -> Job | None:
        """Block until the job has finished and its output is read (for scripts);
        the job then, or None if ``timeout`` passed first."""
        return self.job if self._finished.wait(timeout) else None

    @property
    def log_text(self) -> str:
        """The kept tail of the output, ``\\r`` collapsed."""
        return self._buffer.text

    @property
    def following(self) -> bool:
        """Whether the background thread still runs."""
        return self._background.running

    def close(self) -> None:
        """Stop following the job and close the widget and its parts."""
        background: Background | None = getattr(self, "_background", None)
        if background is not None:
            background.stop()
        if getattr(self, "_client", None) is not None:
            self._sync_client().close()
        for part in getattr(self, "_parts", ()):
            part.close()
        super().close()

    def _sync_client(self) -> NeuroClient:
        if self._client is None:
            self._client = NeuroClient(self.config)
        return self._client

    # What the background thread does: read the API, set values.

    def _show_error(self, message: str) -> None:
        self.error.value = f'<span style="color: #dc322f">{html.escape(message)}</span>'

    def _show(self, job: Job) -> None:
        self.job, self.ref = job, job.id
        self.title.value = f"<b>{html.escape(job.name or job.id)}</b>"
        self.status_html.value = status_badge_html(job)
        self.elapsed.value = elapsed_text(job)
        self.kill_button.disabled = job.is_finished
        self.open_url.value = open_url_html(job)
        self.details.value = render_status_html(job)
        self.reason = job.reason
        self.status = job.status

    async def _follow(self, client: AsyncNeuroClient) -> None:
        started = asyncio.Event()
        tasks = [
            asyncio.ensure_future(self._watch(client, started)),
            asyncio.ensure_future(self._follow_logs(client, started)),
            asyncio.ensure_future(self._follow_top(client, started)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._flush_log()
            self._finished.set()
            self.done = True
            self._background.stop()

    async def _watch(self, client: AsyncNeuroClient, started: asyncio.Event) -> None:
        """The record, as pushed; a poll every ``poll`` seconds while the push
        stream is down (it is tried again after each poll)."""
        last: str | None = None
        while True:
            job = await client.job(self.ref)
            if self._take(job, started):
                return
            try:
                async for change in client.events(last):
                    if change is None:  # changes were missed: read the record again
                        break
                    if change.id == self.ref and self._take(change, started):
                        return
            except NeuroError:
                pass  # the stream dropped: poll, then try it again
            await asyncio.sleep(self.poll)

    def _take(self, job: Job, started: asyncio.Event) -> bool:
        """Show ``job``; whether it has finished."""
        self._show(job)
        if job.status != "pending":
            started.set()
        elif not self._buffer.text:
            why = job.status_description or job.reason or "pending"
            self.output.value = _log_html(f"waiting to start: {why}")
        return job.is_finished

    async def _follow_logs(self, client: AsyncNeuroClient, started: asyncio.Event) -> None:
        await started.wait()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tail = self._buffer.max_lines
        async with closing(client.logs(self.ref, follow=True, tail=tail)) as chunks:
            async for chunk in chunks:
                self._feed(decoder.decode(chunk))
        self._feed(decoder.decode(b"", final=True))

    async def _follow_top(self, client: AsyncNeuroClient, started: asyncio.Event) -> None:
        await started.wait()
        if self.job is None or self.job.status != "running":
            return
        limit = self.job.resources.memory
        try:
            async with closing(client.top(self.ref, interval=self.interval)) as samples:
                async for sample in samples:
                    self._series.add(sample)
                    self.plot.value = telemetry_svg(self._series.samples, limit)
        except NeuroError:
            return  # the job ended between the two reads: no telemetry to show

    def _feed(self, text: str) -> None:
        if not text:
            return
        self._buffer.feed(text)
        loop = asyncio.get_running_loop()
        wait = self._last_flush + LOG_FLUSH - loop.time()
        if wait <= 0:
            self._flush_log()
        elif self._flush_later is None:
            self._flush_later = loop.call_later(wait, self._flush_log)

    def _flush_log(self) -> None:
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        self._last_flush = asyncio.get_running_loop().time()
        text = self._buffer.text
        # The log was read from its last lines (logs?tail=) and is kept bounded.
        full = self._buffer.dropped or text.count("\n") >= self._buffer.max_lines
        note = "[earlier lines not shown]\n" if full else ""
        self.output.value = _log_html(note + text)


def _log_html(text: str) -> str:
    """The output as HTML: the theme's code colours, the end in view."""
    return (
        '<div style="display: flex; flex-direction: column-reverse; max-height: 20em;'
        " overflow: auto; background: var(--jp-layout-color1, #fff);"
        ' border: 1px solid var(--jp-border-color2, #ccc)">'
        '<pre style="margin: 0; padding: 4px 6px; white-space: pre-wrap;'
        " color: var(--jp-content-font-color1, #000);"
        ' font-family: var(--jp-code-font-family, monospace)">'
        f"{html.escape(text)}</pre></div>"
    )
