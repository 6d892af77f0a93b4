"""WebSocket relay for the job proxy (jupyter-server-proxy keeps its own in ``websocket.py``).

The visitor was authorised in ``prepare()``. The job is connected first, with
the visitor's subprotocols; only then is the visitor accepted, with the
subprotocol the job chose. A job that refuses gets the visitor a 502 before
any upgrade. Frames keep their kind and order; close codes go both ways.

``Origin`` is judged by Jupyter's rule (same host, or ``allow_origin``); a
same-origin one reaches the job as the job's own (``upstream_headers()``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import (
    WebSocketClientConnection,
    WebSocketClosedError,
    WebSocketHandler,
    websocket_connect,
)

__all__ = ["MAX_MESSAGE_SIZE", "WebSocketProxyMixin"]

MAX_MESSAGE_SIZE = 128 * 1024 * 1024
"""Largest message relayed either way (tornado's default is 10 MiB)."""

# Handshake headers the client library writes itself.
_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)


def _sendable(code: int | None) -> int | None:
    """A close code that may go on the wire (1005, 1006 and 1015 are never sent)."""
    if code is None or code in (1004, 1005, 1006, 1015) or not 1000 <= code <= 4999:
        return None
    return code


class WebSocketProxyMixin(WebSocketHandler):
    """Relays an authorised WebSocket to the job.

    The handler provides ``upstream_ws_url``, ``upstream_label``,
    ``upstream_headers()``, ``refuse(status, message)``,
    ``refuse_unreachable(error)`` and the
    ``neuro_proxy_timeout`` setting.
    """

    upstream_ws: WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None

    @property
    def max_message_size(self) -> int:
        """Messages up to :data:`MAX_MESSAGE_SIZE` from the visitor."""
        return MAX_MESSAGE_SIZE

    async def proxy_websocket(self, *args: Any) -> None:
        """Connect to the job, then accept the visitor with the job's subprotocol."""
        handler: Any = self
        origin = self.request.headers.get("Origin")
        if origin and not self.check_origin(origin):
            handler.refuse(403, "cross-origin WebSocket refused")
            return
        wanted = [
            p.strip()
            for value in self.request.headers.get_list("Sec-WebSocket-Protocol")
            for p in value.split(",")
            if p.strip()
        ]
        headers = httputil.HTTPHeaders()
        for name, value in handler.upstream_headers():
            if name.lower() not in _HANDSHAKE:
                headers.add(name, value)
        url = handler.upstream_ws_url
        timeout: float = self.settings.get("neuro_proxy_timeout", 30.0)
        try:
            self.upstream_ws = await asyncio.wait_for(
                websocket_connect(
                    HTTPRequest(url, headers=headers, follow_redirects=False),
                    subprotocols=wanted or None,
                    max_message_size=MAX_MESSAGE_SIZE,
                ),
                timeout or None,
            )
        except TimeoutError:
            handler.refuse(504, f"{handler.upstream_label} did not answer within {timeout:g} s")
            return
        except HTTPClientError as exc:
            handler.refuse(502, f"{handler.upstream_label} refused the WebSocket ({exc.code})")
            return
        except (OSError, web.HTTPError) as exc:
            handler.log.info("%s: %s", handler.upstream_label, exc)
            handler.refuse_unreachable(exc)
            return
        await WebSocketHandler.get(self, *args)

    def check_origin(self, origin: str) -> bool:
        """Jupyter's rule: ``Origin`` matches ``Host``, or ``allow_origin`` allows it.

        tornado's own (since 6.6) trusts only ``trusted_origins`` and expects
        same-origin requests to be let through before it is asked.
        """
        handler: Any = self
        return bool(JupyterHandler.check_origin(handler, origin))

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """The subprotocol the job chose, whatever it was."""
        if self.upstream_ws is None:
            return None
        return self.upstream_ws.selected_subprotocol

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start relaying the job's messages to the visitor."""
        self._pump = asyncio.ensure_future(self._relay_from_job())

    async def _relay_from_job(self) -> None:
        upstream = self.upstream_ws
        assert upstream is not None
        try:
            while (message := await upstream.read_message()) is not None:
                self.settings["api_last_activity"] = utcnow()
                await self.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            upstream.close()
            return
        code = _sendable(upstream.close_code)
        upstream.close()
        self.close(code, upstream.close_reason if code else None)

    async def on_message(self, message: str | bytes) -> None:
        """Pass the visitor's message to the job, text as text, bytes as bytes."""
        if self.upstream_ws is None:
            return
        self.settings["api_last_activity"] = utcnow()
        with contextlib.suppress(WebSocketClosedError):
            await self.upstream_ws.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        """The visitor closed: close the job's side with the same code."""
        if self.upstream_ws is not None:
            code = _sendable(self.close_code)
            self.upstream_ws.close(code, self.close_reason if code else None)

    def on_connection_close(self) -> None:
        """Plain HTTP requests need tornado's own handling (a streamed body waits on it)."""
        if self.ws_connection is None:
            web.RequestHandler.on_connection_close(self)
        super().on_connection_close()
