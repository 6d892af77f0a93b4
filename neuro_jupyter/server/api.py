"""The REST API of DESIGN.md §3, under ``{base_url}neuro/api/v1/``.

Handlers are thin: parse the request, call :class:`JobService`, write JSON.
Errors are translated once, in :class:`NeuroAPIHandler`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..backends.base import LogChunk, TelemetrySample
from ..feed import RESET, JobChange, Reset
from ..jobs.errors import InvalidSpec
from ..jobs.model import Job, ListJobsQuery
from ..jobs.parse import parse_permission, parse_since
from ..jobs.query import (
    format_cursor,
    matches,
    parse_events_query,
    parse_flag,
    parse_list_query,
    parse_log_part,
    parse_tail,
)
from .auth import ForwardAuthHandler
from .base import (
    KEEPALIVE_KEY,
    KEEPALIVE_SECONDS,
    NeuroAPIHandler,
    format_time,
    preset_to_json,
    share_to_json,
)
from .exec import JobExecHandler
from .keepalive import with_keepalive
from .openapi import openapi_document, served_openapi
from .sendfile import log_bytes, send_at_once, write_log_chunk

__all__ = ["API_PREFIX", "api_handlers", "openapi_document"]

API_PREFIX = "neuro/api/v1"
_REF = r"(?P<ref>[^/]+)"
LOG_CONTENT_TYPE = "text/plain; charset=utf-8"
T = TypeVar("T")

SSE_CONTENT_TYPE = "text/event-stream"


class PresetsHandler(NeuroAPIHandler):
    """``GET presets``: what jobs may be sized as."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        service = self.service
        presets = service.list_presets()
        shown = [{**preset_to_json(p), "unavailable": service.preset_refusal(p)} for p in presets]
        self.write_json({"presets": shown, "default": presets[0].name})


class SpecHandler(NeuroAPIHandler):
    """``GET spec``: the job-spec fields, described, so clients build forms."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"fields": self.service.spec_fields()})


class JobsHandler(NeuroAPIHandler):
    """``GET jobs`` lists, ``POST jobs`` creates."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = {k: self.get_query_arguments(k) for k in self.request.query_arguments}
        page_size = self.service.limits.page_size
        query = parse_list_query(self.user_name, params, datetime.now(timezone.utc), page_size)
        page_bytes = self.service.limits.page_bytes
        jobs, cut = await self.service.list_page_in_thread(query, page_bytes)
        # Written in a worker thread too: up to page_bytes of JSON.
        self.write_json_text(await asyncio.to_thread(self._page, jobs, query.limit, cut))

    def compute_etag(self) -> str | None:
        """None: hashing a page of up to page_bytes for an ETag took ~2 ms of
        the event loop (issue 14), and a page changes with every job anyway."""
        return None

    def _page(self, jobs: list[Job], limit: int, cut: bool) -> bytes:
        """``{"jobs", "next"}``: jobs serialized one by one, so that a page of
        large jobs ends at page_bytes (issue 14: 20 jobs answered 16.8 MB);
        ``cut``: the store stopped reading at page_bytes, so more may match."""
        parts: list[str] = []
        size = 0
        for job in jobs:
            text = json.dumps(self.job_json(job))
            if parts and size + len(text) > self.service.limits.page_bytes:
                break
            parts.append(text)
            size += len(text) + 1
        more = cut or len(parts) < len(jobs) or len(jobs) == limit
        cursor = format_cursor(jobs[len(parts) - 1]) if more and parts else None
        # Encoded here, in the worker thread: ~3 ms for 4 MiB.
        return f'{{"jobs": [{",".join(parts)}], "next": {json.dumps(cursor)}}}'.encode()

    @web.authenticated
    @authorized
    async def post(self) -> None:
        job = await self.service.create(self.user_name, self.json_body())
        self.set_header("Location", f"{self.api_root}jobs/{job.id}")
        self.write_job(job, 201)


class JobHandler(NeuroAPIHandler):
    """``GET jobs/{ref}`` describes, ``DELETE jobs/{ref}`` kills (idempotent)."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        self.write_job(self.service.resolve(self.user_name, ref))

    @web.authenticated
    @authorized
    async def delete(self, ref: str) -> None:
        wait = self._flag("wait", True)
        self.write_job(await self.service.kill(self.user_name, ref, wait=30.0 if wait else 0))

    def _flag(self, name: str, default: bool) -> bool:
        value = self.get_query_argument(name, None)
        return default if value is None else parse_flag(value, name)


class RerunHandler(NeuroAPIHandler):
    """``POST jobs/{ref}/rerun``: a new job from the same spec."""

    @web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        job = await self.service.rerun(self.user_name, ref)
        self.set_header("Location", f"{self.api_root}jobs/{job.id}")
        self.write_job(job, 201)


class LifeSpanHandler(NeuroAPIHandler):
    """``POST jobs/{ref}/life-span`` with ``{"add": "2h"}``: bump the life span."""

    @web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        body = self.json_body()
        if "add" not in body:
            raise InvalidSpec("add", 'give the time to add, e.g. {"add": "2h"}')
        self.write_job(self.service.bump_life_span(self.user_name, ref, body["add"]))


class LogsHandler(NeuroAPIHandler):
    """``GET jobs/{ref}/logs``: the job's output, streamed as written; with
    ``before``, one earlier part of it (issue 12: a page loads the tail, then
    earlier parts as the reader scrolls up). ``X-Log-Start`` says the byte
    offset the answer starts at, where logs are files.

    As ``text/plain`` by default: the bytes themselves, straight from the log
    file where the backend can. A reader that sends ``Accept:
    text/event-stream`` gets server-sent events instead: ``event: log`` with
    the bytes in base64 (SSE text cannot carry ``\\r`` or bytes that are not
    UTF-8), ``: ping`` while the job is silent and ``event: end`` once the log
    is over. A chunked text body has no room for a keep-alive that is not log
    bytes, and a proxy with a read timeout (nginx: 60 s) drops a followed log
    of a quiet job; followers that pass one use events (issue 14).
    """

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        before = self.get_query_argument("before", None)
        if before is not None:
            await self._part(ref, before)
            return
        since = parse_since(self.get_query_argument("since", ""), datetime.now(timezone.utc))
        follow = parse_flag(self.get_query_argument("follow", "false"), "follow")
        timestamps = parse_flag(self.get_query_argument("timestamps", "false"), "timestamps")
        tail = parse_tail(self.get_query_argument("tail", None))
        start = None
        if since is None and not timestamps:
            start = await self.service.log_start(self.user_name, ref, tail)
        chunks = self.service.log_stream(
            self.user_name, ref, follow=follow, since=since, timestamps=timestamps,
            tail=tail, start=start,
        )  # fmt: skip
        if _accepts_events(self.request.headers.get("Accept", "")):
            if start is not None:
                self.set_header("X-Log-Start", str(start))
            await self._stream_events(log_bytes(chunks))
            return
        self._log_headers(start)
        send_at_once(self)
        if follow:
            # A silent job's reader gets the headers now, not at its first output.
            with contextlib.suppress(StreamClosedError):
                await self.flush()
        await self._stream(chunks)

    async def _part(self, ref: str, before: str) -> None:
        others = ("follow", "since", "timestamps", "tail")
        if any(self.get_query_argument(name, "").strip() for name in others):
            raise InvalidSpec(
                "before", "before reads one earlier part: not with " + ", ".join(others)
            )
        offset, limit = parse_log_part(before, self.get_query_argument("limit_bytes", None))
        start, data = await self.service.log_part(self.user_name, ref, offset, limit)
        self._log_headers(start)
        self.write(data)
        await self.finish(set_content_type=LOG_CONTENT_TYPE)

    def _log_headers(self, start: int | None) -> None:
        self.set_header("Content-Type", LOG_CONTENT_TYPE)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-cache")
        if start is not None:
            self.set_header("X-Log-Start", str(start))

    async def _stream(self, chunks: AsyncIterator[LogChunk]) -> None:
        try:
            async for chunk in chunks:
                await write_log_chunk(self, chunk)
            await self.finish(set_content_type=LOG_CONTENT_TYPE)
        except StreamClosedError:
            pass  # the reader went away; the job goes on
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    async def _stream_events(self, chunks: AsyncIterator[bytes]) -> None:
        def event(chunk: bytes) -> str:
            return f"event: log\ndata: {base64.b64encode(chunk).decode()}\n\n"

        await send_events(self, chunks, event)


async def send_events(
    handler: NeuroAPIHandler,
    items: AsyncIterator[T],
    event: Callable[[T], str],
    first: str = "",
) -> None:
    """Answer with server-sent events: ``event(item)`` for each item ("" sends
    nothing), ``: ping`` while none comes, ``event: end`` once ``items`` ends.

    The headers leave at once, not with the first item, and the pings keep
    the stream open through a proxy's read timeout (issue 14). A reader that
    goes away ends it quietly; ``items`` is closed either way.
    """
    handler.set_header("Content-Type", SSE_CONTENT_TYPE)
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
    every = float(handler.settings.get(KEEPALIVE_KEY, KEEPALIVE_SECONDS))
    try:
        handler.write(first)
        await handler.flush()
        async for item in with_keepalive(items, every, handler.gone):
            text = ": ping\n\n" if item is None else event(item)
            if text:
                handler.write(text)
                await handler.flush()
        handler.write("event: end\ndata: {}\n\n")
        await handler.finish(set_content_type=SSE_CONTENT_TYPE)
    except StreamClosedError:
        pass  # the reader went away; a job goes on
    finally:
        await items.aclose()  # type: ignore[attr-defined]


def _accepts_events(accept: str) -> bool:
    """Whether an ``Accept`` header names ``text/event-stream`` (a wildcard does not)."""
    types = (part.partition(";")[0].strip().lower() for part in accept.split(","))
    return SSE_CONTENT_TYPE in types


def _sample_json(sample: TelemetrySample) -> dict[str, Any]:
    return {
        "at": format_time(sample.at),
        "cpu": sample.cpu,
        "memory": sample.memory,
        "gpu": sample.gpu_utilization,
        "gpu_memory": sample.gpu_memory,
        "gpus": [dict(g) for g in sample.gpus],
    }


class TopHandler(NeuroAPIHandler):
    """``GET jobs/{ref}/top``: telemetry as server-sent events until the job ends."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        interval = self.get_query_argument("interval", "1")
        try:
            seconds = float(interval)
        except ValueError:
            seconds = -1.0
        if not 0.1 <= seconds <= 60:
            raise InvalidSpec("interval", "interval must be seconds from 0.1 to 60")
        samples = self.service.telemetry(self.user_name, ref, seconds)

        def event(sample: TelemetrySample) -> str:
            return f"event: sample\ndata: {json.dumps(_sample_json(sample))}\n\n"

        await send_events(self, samples, event)


RETRY_MS = 3000
"""How long an ``EventSource`` waits before reconnecting to ``GET events``."""


class EventsHandler(NeuroAPIHandler):
    """``GET events``: every change of the jobs the caller may see, as
    server-sent events (issue 12).

    ``event: job`` carries the job as ``GET jobs/{ref}`` shows it, with an
    ``id:`` to resume from (``Last-Event-ID``); ``event: reset`` says that
    changes the reader should have seen are gone (list again); ``event: end``
    closes the stream (the server stops, or ``follow=false`` caught up).
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = {k: self.get_query_arguments(k) for k in self.request.query_arguments}
        follow = parse_flag((params.pop("follow", None) or ["true"])[-1], "follow")
        query = parse_events_query(self.user_name, params, datetime.now(timezone.utc))
        feed = self.service.feed
        changes = feed.follow(feed.position(self.request.headers.get("Last-Event-ID")), wait=follow)
        await send_events(
            self, changes, lambda change: self._event(change, query), first=f"retry: {RETRY_MS}\n\n"
        )

    def _event(self, change: JobChange | Reset, query: ListJobsQuery) -> str:
        """The text of one event, "" for a change the reader may not see or
        did not ask for."""
        if change is RESET or not isinstance(change, JobChange):
            return "event: reset\ndata: {}\n\n"
        job = change.job
        if not matches(job, change.previous, query) or not self.service.visible(
            self.user_name, job
        ):
            return ""
        data = json.dumps(self.job_json(job))
        return f"id: {self.service.feed.event_id(change)}\nevent: job\ndata: {data}\n\n"


class SharesHandler(NeuroAPIHandler):
    """``GET jobs/{ref}/shares``: who else may act on the job."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        shares = self.service.shares(self.user_name, ref)
        self.write_json({"shares": [share_to_json(s) for s in shares]})


class ShareHandler(NeuroAPIHandler):
    """``PUT jobs/{ref}/shares/{user}`` grants, ``DELETE`` revokes.

    ``user`` is a user name or ``group:NAME`` (a hub group); tornado has
    already unescaped it, so ``group%3Aml`` arrives as ``group:ml``.
    """

    @web.authenticated
    @authorized
    async def put(self, ref: str, user: str) -> None:
        body = self.json_body()
        level = parse_permission(str(body.get("level", "")))
        share = self.service.share(self.user_name, ref, user, level)
        self.write_json(share_to_json(share))

    @web.authenticated
    @authorized
    async def delete(self, ref: str, user: str) -> None:
        self.service.unshare(self.user_name, ref, user)
        self.finish_empty()


class OpenAPIHandler(NeuroAPIHandler):
    """``GET openapi.json``: the contract these handlers keep, as this server serves it."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # The API root from this request's own path, not from API_PREFIX: the
        # same handlers may be served under another prefix (a hub service).
        root = self.request.path.rpartition("/")[0]
        service = self.service
        presets = [p.name for p in service.list_presets()]
        document = served_openapi(root, presets, service.required_fields(), service.limits)
        self.write_json(document)


def api_handlers(prefix: str = API_PREFIX) -> list[tuple[str, type]]:
    """The route table, relative to ``base_url``; the API's root is ``prefix``.

    The server extension serves it at :data:`API_PREFIX`, the JupyterHub jobs
    service at ``api/v1`` (its base URL already says ``neuro``). The
    ``neuro_api_path`` setting must name the same ``prefix``.
    """
    jobs = f"{prefix}/jobs"
    return [
        (f"{prefix}/presets", PresetsHandler),
        (f"{prefix}/spec", SpecHandler),
        (f"{prefix}/openapi.json", OpenAPIHandler),
        (f"{prefix}/auth", ForwardAuthHandler),
        (f"{prefix}/events", EventsHandler),
        (jobs, JobsHandler),
        (f"{jobs}/{_REF}", JobHandler),
        (f"{jobs}/{_REF}/rerun", RerunHandler),
        (f"{jobs}/{_REF}/life-span", LifeSpanHandler),
        (f"{jobs}/{_REF}/logs", LogsHandler),
        (f"{jobs}/{_REF}/top", TopHandler),
        (f"{jobs}/{_REF}/exec", JobExecHandler),
        (f"{jobs}/{_REF}/shares", SharesHandler),
        (f"{jobs}/{_REF}/shares/(?P<user>[^/]+)", ShareHandler),
    ]
