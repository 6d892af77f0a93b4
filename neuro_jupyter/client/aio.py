"""The asynchronous client: the same calls as :class:`NeuroClient`, awaited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from ..jobs.model import Preset
from .base import (
    EXEC_CLOSED,
    BaseClient,
    Call,
    SSEDecoder,
    exec_control,
    is_log_events,
    jobs_params,
    log_bytes,
    more_pages,
)
from .config import ApiConfig
from .errors import ApiError
from .models import Job, Sample

__all__ = ["AsyncExecSession", "AsyncNeuroClient"]

T = TypeVar("T")


class AsyncExecSession:
    """A command running inside a job, over the exec WebSocket (asyncio)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        #: The command's exit code, once :meth:`output` has seen it.
        self.exit_code: int | None = None

    async def send(self, data: bytes) -> None:
        """Write ``data`` to the command's standard input."""
        await self._ws.send(data)

    async def resize(self, rows: int, cols: int) -> None:
        """Resize the command's terminal (``tty=True`` only)."""
        await self._ws.send(json.dumps({"resize": [rows, cols]}))

    async def close_stdin(self) -> None:
        """End the command's standard input."""
        await self._ws.send(json.dumps({"eof": True}))

    async def output(self) -> AsyncIterator[bytes]:
        """The command's output as it comes, until it exits (then see ``exit_code``).

        Raises:
            ApiError: the connection broke first, or the command did not start.
        """
        while self.exit_code is None:
            try:
                message = await self._ws.recv()
            except ConnectionClosedOK:
                return
            except ConnectionClosedError:
                raise ApiError(0, EXEC_CLOSED) from None
            if isinstance(message, bytes):
                yield message
            else:
                self.exit_code = exec_control(message)

    async def close(self) -> None:
        """Close the socket; a command still running is ended."""
        await self._ws.close()

    async def __aenter__(self) -> AsyncExecSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncNeuroClient(BaseClient):
    """The neuro-jupyter REST API for asyncio code (the Lab side, widgets, tests)."""

    def __init__(self, config: ApiConfig | None = None, *, timeout: float = 30.0) -> None:
        super().__init__(config, timeout)
        self._http = httpx.AsyncClient(headers=self.headers)

    async def _call(self, call: Call[T]) -> T:
        """The one request function: send, then parse or raise the typed error."""
        request = self.build(self._http, call)
        with self.translating():
            response = await self._http.send(request)
        return self.answer(call, response)

    @asynccontextmanager
    async def _stream(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        request = self.build(self._http, call)
        with self.translating():
            response = await self._http.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    self.check(response)
                yield response
            finally:
                await response.aclose()

    async def presets(self) -> tuple[list[Preset], str]:
        """The cluster's presets and the default one's name."""
        return await self._call(self.presets_call())

    async def spec_fields(self) -> list[dict[str, Any]]:
        """The job-spec fields, described (for forms)."""
        return await self._call(self.spec_fields_call())

    async def run(self, spec: Mapping[str, Any]) -> Job:
        """Start a job from a spec (DESIGN.md §3); only ``image`` is required."""
        return await self._call(self.run_call(spec))

    async def jobs(
        self,
        *,
        status: Sequence[str] = (),
        all: bool = False,
        owner: Sequence[str] = (),
        name: str | None = None,
        tag: Sequence[str] = (),
        q: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs, newest first; by default the caller's pending and running ones."""
        params = jobs_params(
            status=status, all=all, owner=owner, name=name, tag=tag, q=q,
            since=since, until=until, limit=limit,
        )  # fmt: skip
        jobs, cursor = await self._call(self.jobs_call(params))
        while more_pages(jobs, cursor, limit):  # the server answers in pages
            page, cursor = await self._call(self.jobs_call(params, cursor))
            jobs += page
        return jobs if limit is None else jobs[:limit]

    async def job(self, ref: str) -> Job:
        """One job by id, name or ``name--owner``."""
        return await self._call(self.job_call(ref))

    async def kill(self, ref: str, *, wait: bool = True) -> Job:
        """Kill a job (idempotent); ``wait`` until it has ended (up to 30 s)."""
        return await self._call(self.kill_call(ref, wait))

    async def rerun(self, ref: str) -> Job:
        """A new job from the same spec."""
        return await self._call(self.rerun_call(ref))

    async def bump_life_span(self, ref: str, add: str) -> Job:
        """Add time (``"2h"``) to a job's life span."""
        return await self._call(self.bump_call(ref, add))

    async def shares(self, ref: str) -> list[dict[str, str]]:
        """Who else may act on the job: ``{"owner", "target", "user", "level"}``."""
        return await self._call(self.shares_call(ref))

    async def share(self, ref: str, user: str, level: str) -> dict[str, str]:
        """Grant ``user`` the ``level`` (read, write, manage) on the job."""
        return await self._call(self.share_call(ref, user, level))

    async def unshare(self, ref: str, user: str) -> None:
        """Revoke what ``user`` was granted on the job."""
        await self._call(self.unshare_call(ref, user))

    async def logs(
        self,
        ref: str,
        *,
        follow: bool = False,
        since: str | None = None,
        timestamps: bool = False,
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The job's output in chunks exactly as received (``\\r`` kept);
        with ``tail``, from its last ``tail`` lines."""
        call = self.logs_call(ref, follow, since, timestamps, tail)
        async with self._stream(call) as response:
            if not is_log_events(response.headers.get("Content-Type", "")):
                async for chunk in response.aiter_raw():  # not followed, or an older server
                    yield chunk
                return
            async for event in _events_until_end(response):
                for chunk in log_bytes(iter([event])):
                    yield chunk

    async def events(self, last_event_id: str | None = None) -> AsyncIterator[Job | None]:
        """Every change of the jobs the caller may see, as it happens
        (``GET events``): each job as now; None when changes were missed
        (list again). Ends when the server ends the stream."""
        async with self._stream(self.events_call(last_event_id)) as response:
            async for name, data in _events_until_end(response):
                if name == "reset":
                    yield None
                elif name == "job":
                    yield Job.from_json(json.loads(data))

    async def top(self, ref: str, *, interval: float = 1.0) -> AsyncIterator[Sample]:
        """Telemetry samples every ``interval`` seconds until the job ends."""
        async with self._stream(self.top_call(ref, interval)) as response:
            async for name, data in _events_until_end(response):
                if name == "sample":
                    yield Sample.from_json(json.loads(data))

    async def exec(
        self, ref: str, command: Sequence[str], *, tty: bool = False
    ) -> AsyncExecSession:
        """Run ``command`` (an argv) inside the running job."""
        url = self.ws_url(ref, command, tty)
        with self.ws_translating():
            ws = await connect(
                url, additional_headers=self.ws_headers, open_timeout=self.timeout, max_size=None
            )
        return AsyncExecSession(ws)

    async def wait_for(
        self,
        ref: str,
        until: Callable[[Job], bool],
        *,
        poll: float = 0.2,
        timeout: float | None = None,
    ) -> Job:
        """Poll the job until ``until(job)``; the job then.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            job = await self.job(ref)
            if until(job):
                return job
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError(f"job {ref} did not reach the wanted state in {timeout} s")
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def close(self) -> None:
        """Close the connections (the same as :meth:`aclose`)."""
        await self.aclose()

    async def __aenter__(self) -> AsyncNeuroClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _events_until_end(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """A server-sent event stream's ``(event, data)`` pairs, up to its ``end`` event."""
    decoder = SSEDecoder()
    async for line in response.aiter_lines():
        event = decoder.feed(line)
        if event is None:
            continue
        if event[0] == "end":
            return
        yield event
