"""What the sync and async clients share: each call described once.

An endpoint method builds a :class:`Call` (method, path, query, body and how
to parse the answer); :class:`BaseClient` turns it into an ``httpx.Request``
and an answer into a value or a typed error. The sync and async faces only
send (httpx's own ``BaseClient``/``Client``/``AsyncClient`` split).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
from websockets.exceptions import InvalidStatus, WebSocketException

from ..jobs.model import Preset
from .config import ApiConfig
from .errors import ApiError, error_for, not_answering, server_root
from .models import Job, Sample

__all__ = ["LOG_EVENTS", "BaseClient", "Call", "SSEDecoder", "is_log_events", "log_bytes"]

T = TypeVar("T")
Params = list[tuple[str, str]]
JobsPage = tuple[list[Job], str | None]
#: ``DELETE jobs/{ref}?wait=true`` may take this long on the server.
KILL_WAIT_SECONDS = 30.0


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _ref(ref: str) -> str:
    return quote(ref, safe="")


def _none(_: Any) -> None:
    return None


def _job(data: Any) -> Job:
    return Job.from_json(data)


def _jobs(data: Any) -> tuple[list[Job], str | None]:
    next_page = data.get("next")
    return [Job.from_json(j) for j in data["jobs"]], None if next_page is None else str(next_page)


def _presets(data: Any) -> tuple[list[Preset], str]:
    return [Preset.from_json(p) for p in data["presets"]], str(data["default"])


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: what to send, and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Params | None = None
    body: Any = None
    timeout: float | None = None
    #: Streamed answers (logs, top) may stay quiet for long: no read timeout.
    stream: bool = False
    headers: Mapping[str, str] | None = None


class SSEDecoder:
    """Server-sent events, fed line by line (``event:``/``data:``, blank line ends one)."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        """Take one line (without its ending); a finished ``(event, data)`` or None."""
        if not line:
            if not self.data and self.event == "message":
                return None
            done = (self.event, "\n".join(self.data))
            self.event, self.data = "message", []
            return done
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


LOG_EVENTS = "text/event-stream"
"""What a followed log is asked for as (see :meth:`BaseClient.logs_call`)."""


def is_log_events(content_type: str) -> bool:
    """Whether a logs answer is server-sent events (else it is the bytes themselves)."""
    return content_type.partition(";")[0].strip().lower() == LOG_EVENTS


def log_bytes(events: Iterator[tuple[str, str]]) -> Iterator[bytes]:
    """The log's bytes from its event stream, up to its ``end`` event."""
    for event, data in events:
        if event == "end":
            return
        if event == "log":
            yield base64.b64decode(data)


def top_samples(events: Iterator[tuple[str, str]]) -> Iterator[Sample]:
    """The samples of a ``top`` event stream, up to its ``end`` event."""
    for event, data in events:
        if event == "end":
            return
        if event == "sample":
            yield Sample.from_json(json.loads(data))


def exec_control(text: str) -> int | None:
    """Read a text frame of the exec socket: the exit code when it is the last one.

    Raises:
        ApiError: the server could not start the command.
    """
    try:
        control = json.loads(text)
    except ValueError:
        return None
    if not isinstance(control, dict):
        return None
    if control.get("error"):
        raise ApiError(500, str(control["error"]))
    code = control.get("exit_code")
    return int(code) if code is not None else None


EXEC_CLOSED = "the exec connection closed before the command ended"


class BaseClient:
    """Request building, answer parsing and error mapping for both faces."""

    def __init__(self, config: ApiConfig | None, timeout: float) -> None:
        self.config = config if config is not None else ApiConfig.discover()
        self.timeout = timeout

    @property
    def headers(self) -> dict[str, str]:
        """Headers of every request: the token, and JSON answers wanted."""
        headers = {"Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"token {self.config.token}"
        return headers

    @property
    def ws_headers(self) -> dict[str, str]:
        """Headers of the exec WebSocket handshake."""
        return {k: v for k, v in self.headers.items() if k == "Authorization"}

    @contextmanager
    def translating(self) -> Iterator[None]:
        """Turn transport failures of httpx into one-sentence errors."""
        try:
            yield
        except httpx.ConnectError:
            raise not_answering(self.config.url) from None
        except httpx.TimeoutException:
            root = server_root(self.config.url)
            raise ApiError(0, f"the Jupyter server at {root} did not answer in time") from None
        except httpx.TransportError as exc:
            root = server_root(self.config.url)
            raise ApiError(0, f"the connection to {root} failed: {exc}") from None

    @contextmanager
    def ws_translating(self) -> Iterator[None]:
        """Turn a refused or failed WebSocket handshake into the API's typed errors."""
        try:
            yield
        except InvalidStatus as exc:
            response = exc.response
            content_type = response.headers.get("Content-Type", "")
            body = bytes(response.body or b"")
            raise error_for(response.status_code, content_type, body, self.config.url) from None
        except OSError:
            raise not_answering(self.config.url) from None
        except WebSocketException as exc:
            root = server_root(self.config.url)
            raise ApiError(0, f"the exec connection to {root} failed: {exc}") from None

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return self.config.url + path

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        """The ``httpx.Request`` for ``call``."""
        seconds = self.timeout if call.timeout is None else call.timeout
        timeout = httpx.Timeout(seconds, read=None) if call.stream else httpx.Timeout(seconds)
        return http.build_request(
            call.method,
            self.url(call.path),
            params=tuple(call.params or ()),
            json=call.body,
            timeout=timeout,
            headers=dict(call.headers) if call.headers else None,
        )

    def check(self, response: httpx.Response) -> None:
        """Raise the typed error of an error answer (its body must have been read)."""
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", "")
            body = bytes(response.content)
            raise error_for(response.status_code, content_type, body, self.config.url)

    def answer(self, call: Call[T], response: httpx.Response) -> T:
        """The parsed value of a read answer, or its typed error."""
        self.check(response)
        if response.status_code == 204 or not response.content:
            return call.parse(None)
        return call.parse(response.json())

    def ws_url(self, ref: str, command: Sequence[str], tty: bool) -> str:
        """The WebSocket URL of ``jobs/{ref}/exec``."""
        parts = urlsplit(self.url(f"jobs/{_ref(ref)}/exec"))
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urlencode([*(("cmd", c) for c in command), ("tty", _flag(tty))])
        return parts._replace(scheme=scheme, query=query).geturl()

    # The calls, one per endpoint.

    def presets_call(self) -> Call[tuple[list[Preset], str]]:
        """``GET presets``."""
        return Call("GET", "presets", _presets)

    def spec_fields_call(self) -> Call[list[dict[str, Any]]]:
        """``GET spec``."""
        return Call("GET", "spec", lambda d: list(d["fields"]))

    def run_call(self, spec: Mapping[str, Any]) -> Call[Job]:
        """``POST jobs``."""
        return Call("POST", "jobs", _job, body=dict(spec))

    def jobs_call(self, params: Params, cursor: str | None = None) -> Call[JobsPage]:
        """``GET jobs`` with its query: one page, and the cursor of the next (or None)."""
        if cursor is not None:
            params = [*params, ("cursor", cursor)]
        return Call("GET", "jobs", _jobs, params=params)

    def job_call(self, ref: str) -> Call[Job]:
        """``GET jobs/{ref}``."""
        return Call("GET", f"jobs/{_ref(ref)}", _job)

    def kill_call(self, ref: str, wait: bool) -> Call[Job]:
        """``DELETE jobs/{ref}``; the server may wait up to 30 s for the end."""
        timeout = self.timeout + KILL_WAIT_SECONDS if wait else None
        params = [("wait", _flag(wait))]
        return Call("DELETE", f"jobs/{_ref(ref)}", _job, params=params, timeout=timeout)

    def rerun_call(self, ref: str) -> Call[Job]:
        """``POST jobs/{ref}/rerun``."""
        return Call("POST", f"jobs/{_ref(ref)}/rerun", _job, body={})

    def bump_call(self, ref: str, add: str) -> Call[Job]:
        """``POST jobs/{ref}/life-span``."""
        return Call("POST", f"jobs/{_ref(ref)}/life-span", _job, body={"add": add})

    def shares_call(self, ref: str) -> Call[list[dict[str, str]]]:
        """``GET jobs/{ref}/shares``."""
        return Call("GET", f"jobs/{_ref(ref)}/shares", lambda d: list(d["shares"]))

    def share_call(self, ref: str, user: str, level: str) -> Call[dict[str, str]]:
        """``PUT jobs/{ref}/shares/{user}``."""
        path = f"jobs/{_ref(ref)}/shares/{_ref(user)}"
        return Call("PUT", path, lambda d: dict(d), body={"level": level})

    def unshare_call(self, ref: str, user: str) -> Call[None]:
        """``DELETE jobs/{ref}/shares/{user}``."""
        return Call("DELETE", f"jobs/{_ref(ref)}/shares/{_ref(user)}", _none)

    def logs_call(
        self,
        ref: str,
        follow: bool,
        since: str | None,
        timestamps: bool,
        tail: int | None = None,
    ) -> Call[None]:
        """``GET jobs/{ref}/logs`` (streamed); ``tail``: from the last lines only.

        A followed log is asked for as server-sent events (read them with
        :func:`log_bytes`): their ``: ping`` keeps a quiet job's stream open
        through a proxy with a read timeout (issue 14).
        """
        params = [("follow", _flag(follow)), ("timestamps", _flag(timestamps))]
        if since is not None:
            params.append(("since", since))
        if tail is not None:
            params.append(("tail", str(tail)))
        headers = {"Accept": LOG_EVENTS} if follow else {}
        path = f"jobs/{_ref(ref)}/logs"
        return Call("GET", path, _none, params=params, stream=True, headers=headers)

    def events_call(self, last_event_id: str | None) -> Call[None]:
        """``GET events`` (server-sent job changes, streamed), after ``last_event_id``."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        return Call("GET", "events", _none, stream=True, headers=headers)

    def top_call(self, ref: str, interval: float) -> Call[None]:
        """``GET jobs/{ref}/top`` (streamed)."""
        params = [("interval", str(interval))]
        return Call("GET", f"jobs/{_ref(ref)}/top", _none, params=params, stream=True)


def jobs_params(
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
) -> Params:
    """The query of ``GET jobs``; empty filters are left out."""
    params: Params = [("status", s) for s in _many(status)]
    if all:
        params.append(("all", "true"))
    params += [("owner", o) for o in _many(owner)] + [("tag", t) for t in _many(tag)]
    for key, value in (("name", name), ("q", q), ("since", since), ("until", until)):
        if value is not None:
            params.append((key, value))
    if limit is not None:
        params.append(("limit", str(limit)))
    return params


def more_pages(jobs: list[Job], cursor: str | None, limit: int | None) -> bool:
    """Whether a listing that has ``jobs`` so far reads the page at ``cursor``."""
    return cursor is not None and (limit is None or len(jobs) < limit)


def _many(values: Sequence[str] | str) -> list[str]:
    """A filter given as one string means that one value, not its letters."""
    return [values] if isinstance(values, str) else list(values)
