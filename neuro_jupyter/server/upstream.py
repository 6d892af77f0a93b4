"""Streaming a request to an upstream HTTP server and its answer back.

The common half of the job proxy (:mod:`.proxy`: the upstream is a job) and
of the relay in users' servers under JupyterHub (:mod:`neuro_jupyter.hub.relay`:
the upstream is the jobs service). Subclasses decide in ``prepare()`` who
gets in and where the request goes; this class moves the bytes: the body
chunk by chunk while it arrives (no buffering, no size cap), the answer as
it comes, WebSocket upgrades through :class:`~.proxy_ws.WebSocketProxyMixin`.
One pooled ``aiohttp.ClientSession`` per server carries every request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from urllib.parse import quote, unquote

import aiohttp
from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web
from tornado.iostream import StreamClosedError
from yarl import URL

from .proxy_ws import WebSocketProxyMixin
from .splice import can_splice, splice_body

__all__ = [
    "HOP_BY_HOP",
    "PROXY_CLIENT_KEY",
    "PROXY_TIMEOUT_KEY",
    "UpstreamPool",
    "UpstreamRelayHandler",
    "connection_tokens",
    "make_proxy_client",
    "strip_token",
    "target_of",
]

PROXY_CLIENT_KEY = "neuro_proxy_client"
PROXY_TIMEOUT_KEY = "neuro_proxy_timeout"
READ_BUFFER = 1 << 20
"""Bytes of an answer read ahead: big downloads move in few large pieces."""

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
    """The upstream client a server's proxy and relay handlers share."""
    return UpstreamPool()


def _upstream_session() -> aiohttp.ClientSession:
    """Pooled keep-alive, no redirects, no cookies, bodies passed undecoded.

    It adds no header of its own but ``Host``: the upstream sees the visitor's
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


@web.stream_request_body
class UpstreamRelayHandler(WebSocketProxyMixin, JupyterHandler):  # type: ignore[misc]
    """Relays HTTP (and WebSocket, via the mixin) to ``upstream_base`` + ``target``.

    Subclasses set ``upstream_base`` (``scheme://host:port``), ``target`` (an
    escaped request-target) and ``upstream_label`` (for messages) in
    ``prepare()``, call :meth:`start_body` once the request may go on, and
    provide :meth:`upstream_headers` and :meth:`refuse`.
    """

    upstream_base = ""
    upstream_label = "the upstream"
    target = ""
    _chunks: asyncio.Queue[bytes | None] | None = None
    _upstream: asyncio.Future[aiohttp.ClientResponse] | None = None

    def upstream_headers(self) -> list[tuple[str, str]]:
        """The headers the upstream receives."""
        raise NotImplementedError

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message``; nothing went upstream."""
        raise NotImplementedError

    def refuse_unreachable(self, error: Exception) -> None:
        """Answer for an upstream that refused the connection or broke it before answering."""
        self.refuse(502, f"{self.upstream_label} refused the connection or broke it")

    def answer_header(self, name: str, value: str) -> str | None:
        """An upstream answer header as the visitor gets it (None: dropped)."""
        return value

    def extra_answer_headers(self) -> list[tuple[str, str]]:
        """Headers added to every relayed answer."""
        return []

    @property
    def upstream_ws_url(self) -> str:
        """Where a WebSocket upgrade goes."""
        return "ws" + self.upstream_base[len("http") :] + self.target

    # -- the request ------------------------------------------------------

    def start_body(self) -> None:
        """Start the upstream request now where a body comes, to stream it as it arrives."""
        headers = self.request.headers
        if "Transfer-Encoding" in headers or headers.get("Content-Length", "0") != "0":
            self._chunks = asyncio.Queue(maxsize=4)
            self._upstream = asyncio.ensure_future(self._send(self._body()))

    async def _body(self) -> AsyncIterator[bytes]:
        assert self._chunks is not None
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def data_received(self, chunk: bytes) -> None:
        """Pass a piece of the body on, waiting while the upstream reads slower."""
        if self._chunks is not None:
            await self._chunks.put(chunk)

    async def _send(self, body: AsyncIterator[bytes] | None) -> aiohttp.ClientResponse:
        pool: UpstreamPool = self.settings[PROXY_CLIENT_KEY]
        client = pool.session()
        # A body of unknown length (the visitor's was chunked) goes on chunked.
        chunked = body is not None and "Content-Length" not in self.request.headers
        return await client.request(
            self.request.method or "GET",
            URL(self.upstream_base + self.target, encoded=True),
            headers=self.upstream_headers(),
            data=body,
            chunked=chunked or None,
            allow_redirects=False,
            compress=None,
        )

    async def relay_http(self) -> None:
        """Send the request, then stream the upstream's answer back as it comes."""
        if self._upstream is None:
            self._upstream = asyncio.ensure_future(self._send(None))
        elif self._chunks is not None:
            await self._chunks.put(None)
        timeout: float = self.settings.get(PROXY_TIMEOUT_KEY, 30.0)
        try:
            # asyncio.timeout, not wait_for: no second future per request.
            async with asyncio.timeout(timeout or None):
                response = await self._upstream
        except TimeoutError:
            self.refuse(504, f"{self.upstream_label} did not answer within {timeout:g} s")
            return
        except aiohttp.ClientError as exc:
            self.log.info("%s: %s", self.upstream_label, exc)
            self.refuse_unreachable(exc)
            return
        try:
            self._answer_head(response)
            if can_splice(self, response):
                await splice_body(self, response)
                self.finish()
                return
            body = response.content
            async for chunk in body.iter_any():
                self.write(chunk)
                if not body.at_eof():  # the last piece goes out with finish()
                    await self.flush()
        except StreamClosedError:
            response.close()  # the visitor went away
            return
        except aiohttp.ClientError as exc:
            response.close()
            self.log.info("%s broke off its answer: %s", self.upstream_label, exc)
            self._abort()
            return
        response.release()
        self.finish()

    def _abort(self) -> None:
        """Drop the visitor's connection with no proper end of the answer.

        A clean end would pass a cut-off answer (a chunked log, an SSE stream)
        off as complete; a dropped connection is an error the client sees.
        """
        if self.request.connection is not None:
            self.request.connection.close()  # type: ignore[attr-defined]
        self._finished = True

    def _answer_head(self, response: aiohttp.ClientResponse) -> None:
        self._headers = httputil.HTTPHeaders()
        self.set_status(response.status, response.reason or None)
        # Raw pairs: repeated headers (Set-Cookie) stay apart, names as sent.
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        drop = connection_tokens(v for k, v in raw if k.lower() == "connection")
        for name, value in raw:
            if name.lower() in drop:
                continue
            kept = self.answer_header(name, value)
            if kept is not None:
                self.add_header(name, kept)
        for name, value in self.extra_answer_headers():
            self.add_header(name, value)

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
