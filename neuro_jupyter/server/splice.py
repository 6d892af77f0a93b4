"""Moving a large answer body from the upstream's socket to the visitor's in the kernel (issue 11).

Relaying a download through Python reads every byte into a buffer and writes
it out again. For a body of known length (``Content-Length``) both sockets
are plain TCP, so ``os.splice`` moves the rest of it upstream socket -> pipe
-> visitor socket without the bytes entering user space. Where that cannot
be done (TLS either side, HTTP/1.0 chunking, no ``os.splice``, a small or
unsized body) the proxy copies as before.

The upstream connection is closed afterwards: its HTTP parser never saw those
bytes, so it cannot be reused (a large body pays for a new connection easily).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from typing import Any

import aiohttp
from tornado.iostream import SSLIOStream, StreamClosedError
from tornado.web import RequestHandler

__all__ = ["SPLICE_MIN", "can_splice", "splice_body"]

SPLICE_MIN = 1 << 20
"""Bytes left of a body below which it is copied: splice pays off on large ones."""
_PIPE_SIZE = 1 << 20
_FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)


def _upstream_socket(response: aiohttp.ClientResponse) -> socket.socket | None:
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    sock: socket.socket | None = transport.get_extra_info("socket")
    return sock


def can_splice(handler: RequestHandler, response: aiohttp.ClientResponse) -> int:
    """Bytes of ``response``'s body that can be spliced to the visitor; 0: copy it."""
    if not hasattr(os, "splice") or handler.request.method == "HEAD":
        return 0
    if response.status < 200 or response.status in (204, 304):
        return 0
    try:
        length = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return 0
    connection: Any = handler.request.connection
    stream = getattr(connection, "stream", None)
    if stream is None or isinstance(stream, SSLIOStream):
        return 0
    # With this Content-Length on the answer, tornado sends the body as it
    # is (no chunk framing) and counts it down (HTTP1Connection).
    if handler._headers.get("Content-Length") != str(length) or not hasattr(
        connection, "_expected_content_remaining"
    ):
        return 0
    if _upstream_socket(response) is None:
        return 0
    left = length - response.content.total_bytes
    return left if left >= SPLICE_MIN else 0


async def _ready(fd: int, write: bool) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await future
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def splice_body(handler: RequestHandler, response: aiohttp.ClientResponse) -> None:
    """Send what aiohttp already read through tornado, then splice the rest of the body.

    Raises:
        StreamClosedError: the visitor went away.
        aiohttp.ClientPayloadError: the upstream ended before the body did.
    """
    upstream = _upstream_socket(response)
    assert upstream is not None and response.connection is not None
    transport = response.connection.transport
    assert transport is not None
    # From here on only we read this socket. Draining aiohttp's buffer may
    # resume its reading (flow control), so pause again once it is empty.
    transport.pause_reading()
    while buffered := response.content.read_nowait():
        handler.write(buffered)
    transport.pause_reading()
    left = int(response.headers["Content-Length"]) - response.content.total_bytes
    await handler.flush()  # the head and the buffered bytes, through tornado
    connection: Any = handler.request.connection
    # Descriptors of our own for both sockets: asyncio lets no one else wait
    # on the one its transport owns, and tornado closes the visitor's when the
    # visitor half-closes, after which its number could name another visitor.
    out = os.dup(connection.stream.socket.fileno())
    source = os.dup(upstream.fileno())
    pipe_out, pipe_in = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe_in, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    in_pipe = 0
    sent = 0
    try:
        while left or in_pipe:
            moved = False
            if left and in_pipe < _PIPE_SIZE:
                try:
                    n = os.splice(source, pipe_in, min(left, _PIPE_SIZE - in_pipe), flags=_FLAGS)
                except BlockingIOError:
                    n = -1
                if n == 0:
                    raise aiohttp.ClientPayloadError(f"the upstream ended {left} bytes early")
                if n > 0:
                    left -= n
                    in_pipe += n
                    moved = True
            if in_pipe:
                try:
                    m = os.splice(pipe_out, out, in_pipe, flags=_FLAGS)
                except BlockingIOError:
                    m = -1
                except (BrokenPipeError, ConnectionResetError) as exc:
                    raise StreamClosedError(exc) from exc
                if m > 0:
                    in_pipe -= m
                    sent += m
                    moved = True
                elif not moved:
                    await _ready(out, write=True)
                    continue
            if not moved:
                await _ready(source, write=False)
    finally:
        os.close(pipe_out)
        os.close(pipe_in)
        os.close(source)
        os.close(out)
        response.close()  # its parser missed these bytes: never reused
        # tornado counts the body down as it writes it; these bytes bypassed it.
        connection._expected_content_remaining -= sent
