"""The synchronous client: plain httpx and websockets.sync, no event loop.

It works inside a running IPython kernel because it never touches asyncio.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

import httpx
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

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
    top_samples,
)
from .config import ApiConfig
from .errors import ApiError
from .models import Job, Sample

__all__ = ["ExecSession", "NeuroClient"]

T = TypeVar("T")


class ExecSession:
    """A command running inside a job, over the exec WebSocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        #: The command's exit code, once :meth:`output` has seen it.
        self.exit_code: int | None = None

    def send(self, data: bytes) -> None:
        """Write ``data`` to the command's standard input."""
        self._ws.send(data)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the command's terminal (``tty=True`` only)."""
        self._ws.send(json.dumps({"resize": [rows, cols]}))

    def close_stdin(self) -> None:
        """End the command's standard input."""
        self._ws.send(json.dumps({"eof": True}))

    def output(self) -> Iterator[bytes]:
        """The command's output as it comes, until it exits (then see ``exit_code``).

        Raises:
            ApiError: the connection broke first, or the command did not start.
        """
        while self.exit_code is None:
            try:
                message = self._ws.recv()
            except ConnectionClosedOK:
                return
            except ConnectionClosedError:
                raise ApiError(0, EXEC_CLOSED) from None
            if isinstance(message, bytes):
                yield message
            else:
                self.exit_code = exec_control(message)

    def close(self) -> None:
        """Close the socket; a command still running is ended."""
        self._ws.close()

    def __enter__(self) -> ExecSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NeuroClient(BaseClient):
    """The neuro-jupyter REST API, synchronously.

    ``config=None`` finds the API with :meth:`ApiConfig.discover`.
    """

    def __init__(self, config: ApiConfig | None = None, *, timeout: float = 30.0) -> None:
        super().__init__(config, timeout)
        self._http = httpx.Client(headers=self.headers)

    def _call(self, call: Call[T]) -> T:
        """The one request function: send, then parse or raise the typed error."""
        request = self.build(self._http, call)
        with self.translating():
            response = self._http.send(request)
        return self.answer(call, response)

    @contextmanager
    def _stream(self, call: Call[Any]) -> Iterator[httpx.Response]:
        request = self.build(self._http, call)
        with self.translating():
            response = self._http.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    response.read()
                    self.check(response)
                yield response
            finally:
                response.close()

    def presets(self) -> tuple[list[Preset], str]:
        """The cluster's presets and the default one's name."""
        return self._call(self.presets_call())

    def spec_fields(self) -> list[dict[str, Any]]:
        """The job-spec fields, described (for forms)."""
        return self._call(self.spec_fields_call())

    def run(self, spec: Mapping[str, Any]) -> Job:
        """Start a job from a spec (DESIGN.md §3); only ``image`` is required."""
        return self._call(self.run_call(spec))

    def jobs(
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
        jobs, cursor = self._call(self.jobs_call(params))
        while more_pages(jobs, cursor, limit):  # the server answers in pages
            page, cursor = self._call(self.jobs_call(params, cursor))
            jobs += page
        return jobs if limit is None else jobs[:limit]

    def job(self, ref: str) -> Job:
        """One job by id, name or ``name--owner``."""
        return self._call(self.job_call(ref))

    def kill(self, ref: str, *, wait: bool = True) -> Job:
        """Kill a job (idempotent); ``wait`` until it has ended (up to 30 s)."""
        return self._call(self.kill_call(ref, wait))

    def rerun(self, ref: str) -> Job:
        """A new job from the same spec."""
        return self._call(self.rerun_call(ref))

    def bump_life_span(self, ref: str, add: str) -> Job:
        """Add time (``"2h"``) to a job's life span."""
        return self._call(self.bump_call(ref, add))

    def shares(self, ref: str) -> list[dict[str, str]]:
        """Who else may act on the job: ``{"owner", "target", "user", "level"}``."""
        return self._call(self.shares_call(ref))

    def share(self, ref: str, user: str, level: str) -> dict[str, str]:
        """Grant ``user`` the ``level`` (read, write, manage) on the job."""
        return self._call(self.share_call(ref, user, level))

    def unshare(self, ref: str, user: str) -> None:
        """Revoke what ``user`` was granted on the job."""
        self._call(self.unshare_call(ref, user))

    def logs(
        self,
        ref: str,
        *,
        follow: bool = False,
        since: str | None = None,
        timestamps: bool = False,
        tail: int | None = None,
    ) -> Iterator[bytes]:
        """The job's output in chunks exactly as received (``\\r`` kept);
        with ``tail``, from its last ``tail`` lines.

        With ``follow`` it goes on until the server ends the stream (the job ended).
        The request is made, and its errors raised, when iteration starts.
        """
        with self._stream(self.logs_call(ref, follow, since, timestamps, tail)) as response:
            if not is_log_events(response.headers.get("Content-Type", "")):
                yield from response.iter_raw()  # not followed, or an older server
                return
            decoder = SSEDecoder()
            yield from log_bytes(e for line in response.iter_lines() if (e := decoder.feed(line)))

    def top(self, ref: str, *, interval: float = 1.0) -> Iterator[Sample]:
        """Telemetry samples every ``interval`` seconds until the job ends."""
        with self._stream(self.top_call(ref, interval)) as response:
            decoder = SSEDecoder()
            events = (e for line in response.iter_lines() if (e := decoder.feed(line)))
            yield from top_samples(events)

    def exec(self, ref: str, command: Sequence[str], *, tty: bool = False) -> ExecSession:
        """Run ``command`` (an argv) inside the running job."""
        url = self.ws_url(ref, command, tty)
        with self.ws_translating():
            ws = connect(
                url, additional_headers=self.ws_headers, open_timeout=self.timeout, max_size=None
            )
        # The session owns the socket as ``with connect(...)`` would (websockets
        # 17.1 warns on a bare connect(); its legacy=True is unknown before 17.1).
        return ExecSession(ws.__enter__())

    def wait_for(
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
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(ref)
            if until(job):
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {ref} did not reach the wanted state in {timeout} s")
            time.sleep(poll)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> NeuroClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
