"""``{base_url}neuro/jobs/{ref}/…``: a job's HTTP port behind Jupyter's login (DESIGN.md §4).

Who gets in is decided in :meth:`JobProxyHandler.prepare`, for every method
and before any byte goes to the job (jupyter-server-proxy ``ProxyHandler.prepare``).
The target is the job record's endpoint, never anything in the URL. One
pooled ``aiohttp.ClientSession`` per server carries every request (its C
parser makes the proxy several times faster than httpx did); bodies stream
both ways chunk by chunk with no size cap. WebSocket upgrades are relayed by
:class:`~.proxy_ws.WebSocketProxyMixin`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Iterable
from http.client import responses
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import aiohttp
from jupyter_server._tz import utcnow
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import httputil, web
from tornado.iostream import StreamClosedError
from yarl import URL

from ..backends.base import Endpoint
from ..jobs.errors import Forbidden, NeuroError
from ..jobs.model import Job
from .base import ServiceMixin, status_of, user_name_of
from .proxy_ws import WebSocketProxyMixin

__all__ = [
    "HOP_BY_HOP",
    "PROXY_CLIENT_KEY",
    "PROXY_TIMEOUT_KEY",
    "JobProxyHandler",
    "UpstreamPool",
    "make_proxy_client",
    "proxy_handlers",
]

PROXY_CLIENT_KEY = "neuro_proxy_client"
PROXY_TIMEOUT_KEY = "neuro_proxy_timeout"
JOBS_PREFIX = "neuro/jobs"
READ_BUFFER = 1 << 20
"""Bytes of a job's answer read ahead: big downloads move in few large pieces."""

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers of one connection (RFC 9110 §7.6.1): never forwarded, either way."""

# Set by us only: a visitor cannot claim an address, a prefix or a user.
_OURS = frozenset(
    {
        "host",
        "authorization",
        "cookie",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-prefix",
        "x-forwarded-port",
        "x-real-ip",
        "x-neuro-user",
    }
)

# Pages of a job shown to anyone but its owner run in a unique origin, so
# their scripts cannot act on Jupyter as the visitor.
SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

# Printable ASCII but space: what may stand in a request-target as is.
_TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


class UpstreamPool:
    """The server's one upstream client, made on first use (aiohttp needs a running loop)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The pooled session, (re)made where there is none open."""
        if self._session is None or self._session.closed:
            self._session = _upstream_session()
        return self._session

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()


def make_proxy_client() -> UpstreamPool:
    """The upstream client a server's proxy handlers share."""
    return UpstreamPool()


def _upstream_session() -> aiohttp.ClientSession:
    """Pooled keep-alive, no redirects, no cookies, bodies passed undecoded.

    It adds no header of its own but ``Host``: the job sees the visitor's
    ``Accept``, ``User-Agent`` and encodings as they were.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),  # the handler times the response head itself
        auto_decompress=False,
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        trust_env=False,
        read_bufsize=READ_BUFFER,
    )


def connection_tokens(names: Iterable[str]) -> frozenset[str]:
    """Hop-by-hop headers: the fixed list plus those ``Connection`` headers name."""
    named = ",".join(names)
    return HOP_BY_HOP | frozenset(t.strip().lower() for t in named.split(",") if t.strip())


def strip_token(query: str) -> str:
    """The raw query without its ``token`` parameters; otherwise unchanged."""
    if "token" not in query:
        return query
    kept = [p for p in query.split("&") if unquote(p.split("=", 1)[0]) != "token"]
    return "&".join(kept)


def target_of(path_and_query: str) -> str:
    """The request-target as the visitor sent it, its non-ASCII bytes escaped.

    tornado decodes the request line as Latin-1, so encoding back gives the bytes.
    """
    return quote(path_and_query.encode("latin-1"), safe=_TARGET_SAFE)


def upstream_url(endpoint: Endpoint, target: str, scheme: str = "http") -> URL:
    """``endpoint`` with ``target`` as its exact request-target (already escaped)."""
    return URL(f"{scheme}://{endpoint.netloc}{target}", encoded=True)


def visitor_cookies(header_values: Iterable[str], drop: Iterable[str]) -> str:
    """The ``Cookie`` pairs the job may see: all but Jupyter's login ones."""
    dropped = set(drop)
    kept = []
    for value in header_values:
        for pair in value.split(";"):
            name = pair.split("=", 1)[0].strip()
            if not name or name in dropped or name.startswith("username-"):
                continue
            kept.append(pair.strip())
    return "; ".join(kept)


def scope_cookie(set_cookie: str, prefix: str) -> str:
    """A job's ``Set-Cookie`` limited to the job's prefix, with no ``Domain``."""
    parts = [p.strip() for p in set_cookie.split(";")]
    out = [parts[0]]
    path = "/"
    for attr in parts[1:]:
        key = attr.split("=", 1)[0].strip().lower()
        if key == "path":
            path = attr.split("=", 1)[1].strip() if "=" in attr else "/"
        elif key != "domain" and attr:
            out.append(attr)
    if not path.startswith("/"):
        path = "/"
    if not (path == prefix or path.startswith(prefix + "/")):
        path = prefix + path
    out.insert(1, f"Path={path}")
    return "; ".join(out)


@web.stream_request_body
class JobProxyHandler(ServiceMixin, WebSocketProxyMixin, JupyterHandler):  # type: ignore[misc]
    """Relays HTTP (and WebSocket, via the mixin) to a job's HTTP port."""

    auth_resource = "neuro"
    job: Job
    endpoint: Endpoint
    visitor: str | None = None
    prefix = ""
    target = ""
    _chunks: asyncio.Queue[bytes | None] | None = None
    _upstream: asyncio.Future[aiohttp.ClientResponse] | None = None

    def check_xsrf_cookie(self) -> None:
        """Forms of the job carry the job's own CSRF tokens, not Jupyter's: defer to the job."""

    # -- who gets in ------------------------------------------------------

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate, authorise and find the target before reading any body."""
        await super().prepare()
        if self._finished:
            return
        ref = self.path_kwargs["ref"]
        self.visitor = user_name_of(self) if self.current_user else None
        try:
            if self.visitor is not None:
                allowed = self.authorizer.is_authorized(self, self.current_user, "read", "neuro")
                if not await ensure_async(allowed):
                    raise Forbidden(f"you may not open job {ref}")
            self.job, self.endpoint = await self.service.proxy_target(self.visitor, ref)
        except Forbidden as exc:
            self._refuse_forbidden(exc)
            return
        except NeuroError as exc:
            self.refuse(status_of(exc), exc.message, getattr(exc, "field", None))
            return
        if not self._locate():
            return
        self.settings["api_last_activity"] = utcnow()
        if self._has_body():
            self._chunks = asyncio.Queue(maxsize=4)
            self._upstream = asyncio.ensure_future(self._send(self._body()))

    def _refuse_forbidden(self, exc: Forbidden) -> None:
        browser = "text/html" in self.request.headers.get("Accept", "")
        if self.visitor is None and browser and self.request.method in ("GET", "HEAD"):
            login = self.get_login_url()
            self.redirect(f"{login}?{urlencode({'next': self.request.uri})}")
        else:
            self.refuse(403, exc.message)

    def refuse(self, status: int, message: str, field: str | None = None) -> None:
        """Why, as a short page for a browser (every echoed word escaped), else
        as the API's ``{"error", "field"}`` (issue 14)."""
        self.clear()
        self.set_status(status)
        if "text/html" not in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": message, "field": field}))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        reason = html.escape(responses.get(status, "Error"))
        self.finish(
            f"<!DOCTYPE html><title>{status} {reason}</title>"
            f"<h1>{status} {reason}</h1><p>{html.escape(message)}</p>\n"
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """An error no refusal above answered, in the same two forms."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args
        self.refuse(status_code, message)

    def _locate(self) -> bool:
        """Split the raw URI into the job's prefix and what the job receives."""
        uri = self.request.uri or ""
        start = f"{self.base_url}{JOBS_PREFIX}/"
        match = re.match(re.escape(start) + r"[^/?]+", uri)
        if match is None:  # not origin-form: nothing to forward
            self.refuse(400, "bad request target")
            return False
        self.prefix = match.group(0)
        tail = uri[len(self.prefix) :]
        if not tail.startswith("/"):
            if self.request.method in ("GET", "HEAD"):
                self.redirect(f"{self.prefix}/{tail}")
                return False
            tail = "/" + tail
        assert self.job.spec.http is not None
        kept = ""
        if self.job.spec.http.keep_prefix:
            # The job serves under the one prefix its environment names
            # (NEURO_JOB_HTTP_PREFIX); a visitor who came by another ref
            # (the id, the bare name) is sent there, so that the job's links
            # and cookies line up with the address bar.
            kept = self.service.addresses.prefix(self.job)
            if kept and kept != self.prefix and self.request.method in ("GET", "HEAD"):
                self.redirect(kept + tail)
                return False
        path, sep, query = tail.partition("?")
        tail = f"{path}?{strip_token(query)}" if sep else path
        self.target = target_of(kept + tail)
        return True

    def _has_body(self) -> bool:
        headers = self.request.headers
        return "Transfer-Encoding" in headers or headers.get("Content-Length", "0") != "0"

    # -- the request ------------------------------------------------------

    def upstream_headers(self) -> list[tuple[str, str]]:
        """The visitor's headers minus credentials and hop-by-hop ones, plus ours."""
        drop = connection_tokens(self.request.headers.get_list("Connection")) | _OURS
        headers = [
            (k, self._as_job_origin(v) if k.lower() == "origin" else v)
            for k, v in self.request.headers.get_all()
            if k.lower() not in drop
        ]
        login_cookie = self.identity_provider.get_cookie_name(self)
        cookies = visitor_cookies(self.request.headers.get_list("Cookie"), [login_cookie, "_xsrf"])
        if cookies:
            headers.append(("Cookie", cookies))
        headers += [
            ("X-Forwarded-For", self.request.remote_ip or ""),
            ("X-Forwarded-Proto", self.request.protocol),
            ("X-Forwarded-Host", self.request.host),
            ("X-Forwarded-Prefix", self.prefix),
        ]
        if self.visitor is not None:
            headers.append(("X-Neuro-User", self.visitor))
        return headers

    def _as_job_origin(self, origin: str) -> str:
        """A same-origin ``Origin`` as the job's own, any other as it came.

        The job compares ``Origin`` with the ``Host`` it sees, its own address;
        left as is, a browser's POST or WebSocket to a Jupyter run as a job
        would look cross-origin to it and be refused.
        """
        if urlsplit(origin).netloc.lower() == (self.request.headers.get("Host") or "").lower():
            return f"http://{self.endpoint.netloc}"
        return origin

    async def _body(self) -> AsyncIterator[bytes]:
        assert self._chunks is not None
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def data_received(self, chunk: bytes) -> None:
        """Pass a piece of the body on; waits while the job reads slower than the visitor sends."""
        if self._chunks is not None:
            await self._chunks.put(chunk)

    async def _send(self, body: AsyncIterator[bytes] | None) -> aiohttp.ClientResponse:
        pool: UpstreamPool = self.settings[PROXY_CLIENT_KEY]
        client = pool.session()
        # A body of unknown length (the visitor's was chunked) goes on chunked.
        chunked = body is not None and "Content-Length" not in self.request.headers
        return await client.request(
            self.request.method or "GET",
            upstream_url(self.endpoint, self.target),
            headers=self.upstream_headers(),
            data=body,
            chunked=chunked or None,
            allow_redirects=False,
            compress=None,
        )

    async def proxy_http(self) -> None:
        """Send the request, then stream the job's answer back as it comes."""
        if self._upstream is None:
            self._upstream = asyncio.ensure_future(self._send(None))
        elif self._chunks is not None:
            await self._chunks.put(None)
        timeout: float = self.settings.get(PROXY_TIMEOUT_KEY, 30.0)
        try:
            response = await asyncio.wait_for(self._upstream, timeout or None)
        except TimeoutError:
            self.refuse(504, f"job {self.job.id} did not answer within {timeout:g} s")
            return
        except aiohttp.ClientError as exc:
            self.log.info("job %s: %s", self.job.id, exc)
            self.refuse(502, f"job {self.job.id} refused the connection or broke it")
            return
        try:
            self._answer_head(response)
            body = response.content
            async for chunk in body.iter_any():
                self.write(chunk)
                if not body.at_eof():  # the last piece goes out with finish()
                    await self.flush()
        except (StreamClosedError, aiohttp.ClientError):
            response.close()  # the visitor went away, or the job broke off
            return
        response.release()
        self.finish()

    def _answer_head(self, response: aiohttp.ClientResponse) -> None:
        self._headers = httputil.HTTPHeaders()
        self.set_status(response.status, response.reason or None)
        # Raw pairs: repeated headers (Set-Cookie) stay apart, names as sent.
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        drop = connection_tokens(v for k, v in raw if k.lower() == "connection")
        for name, value in raw:
            lower = name.lower()
            if lower in drop:
                continue
            if lower == "set-cookie":
                value = scope_cookie(value, self.prefix)
            elif lower == "location":
                value = self.rewrite_location(value)
            self.add_header(name, value)
        if self.sandboxed():
            self.add_header("Content-Security-Policy", SANDBOX_CSP)

    def sandboxed(self) -> bool:
        """Whether the job's pages run in a unique origin: shown to anyone but its owner.

        Jobs on hosts of their own (``proxy_host``) need no sandbox.
        """
        return self.visitor != self.job.owner

    def rewrite_location(self, location: str) -> str:
        """Redirects of the job point under its prefix; relative and foreign ones stay."""
        assert self.job.spec.http is not None
        keep = self.job.spec.http.keep_prefix
        if location.startswith("/") and not location.startswith("//"):
            return location if keep else self.prefix + location
        parts = urlsplit(location)
        own = {self.endpoint.netloc, f"localhost:{self.endpoint.port}"}
        if parts.scheme in ("http", "https") and parts.netloc in own:
            path = parts.path or "/"
            if not keep:
                path = self.prefix + path
            rest = location[len(f"{parts.scheme}://{parts.netloc}") :]
            rest = rest[len(parts.path) :]
            return f"{self.request.protocol}://{self.request.host}{path}{rest}"
        return location

    def on_finish(self) -> None:
        """A refused request leaves no upstream request behind."""
        self._cancel_upstream()

    def on_close(self) -> None:
        """The visitor went away (a WebSocket, or HTTP mid-request)."""
        super().on_close()
        self._cancel_upstream()

    def _cancel_upstream(self) -> None:
        if self._upstream is not None and not self._upstream.done():
            self._upstream.cancel()

    # -- the methods ------------------------------------------------------

    @allow_unauthenticated
    async def get(self, ref: str, path: str = "") -> None:
        """A WebSocket upgrade or a plain GET."""
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            await self.proxy_websocket(ref, path)
        else:
            await self.proxy_http()

    @allow_unauthenticated
    async def _other(self, ref: str, path: str = "") -> None:
        await self.proxy_http()

    head = post = put = delete = patch = options = _other  # type: ignore[assignment]


def proxy_handlers() -> list[tuple[str, type]]:
    """The route table, relative to ``base_url``."""
    return [(rf"{JOBS_PREFIX}/(?P<ref>[^/?]+)(?P<path>.*)", JobProxyHandler)]
