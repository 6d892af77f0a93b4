"""Streaming log chunks over HTTP, sending file regions with ``sendfile``.

Copying a log through Python caps a stream at about 800 MB/s here; the
kernel's ``sendfile`` moves file pages to the socket without that copy. Tornado
frames chunked responses itself, so a region goes out as one chunk we frame by
hand, written to the connection's socket once tornado's own buffer is empty.
Where that cannot be done (TLS, HTTP/1.0), regions are read and written; so
are small ones, which then leave in one send with the headers (a followed
job's first output reaches its reader sooner).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from tornado.iostream import SSLIOStream
from tornado.web import RequestHandler

from ..backends.base import FileRegion, LogChunk

__all__ = ["COPY_MAX", "log_bytes", "send_at_once", "write_log_chunk"]

_READ_SIZE = 1 << 20
COPY_MAX = 1 << 16
"""Regions up to this size are copied: sendfile pays off on large ones only."""


def _can_sendfile(handler: RequestHandler) -> bool:
    connection: Any = handler.request.connection
    stream = getattr(connection, "stream", None)
    return (
        stream is not None
        and not isinstance(stream, SSLIOStream)
        # Only a chunked HTTP/1.1 response can carry hand-framed chunks.
        and getattr(connection, "_chunking_output", False) is True
    )


def send_at_once(handler: RequestHandler) -> None:
    """Send each write at once (TCP_NODELAY), for a log read as it comes.

    Nagle's algorithm would hold a small chunk back until the client
    acknowledged the one before (the headers, for a job's first output).
    """
    stream = getattr(handler.request.connection, "stream", None)
    if stream is not None:
        stream.set_nodelay(True)


async def _send_region(handler: RequestHandler, region: FileRegion) -> None:
    stream: Any = handler.request.connection.stream  # type: ignore[union-attr]
    await stream.write(b"%x\r\n" % region.length)
    with open(region.path, "rb") as file:
        sent = await asyncio.get_running_loop().sock_sendfile(
            stream.socket, file, region.offset, region.length
        )
    if sent != region.length:
        # The chunk's length is already on the wire; a short one breaks it.
        stream.close()
        raise OSError(f"{region.path} shrank while it was being sent")
    await stream.write(b"\r\n")


async def _copy_region(handler: RequestHandler, region: FileRegion) -> None:
    with open(region.path, "rb") as file:
        file.seek(region.offset)
        left = region.length
        while left > 0:
            data = file.read(min(_READ_SIZE, left))
            if not data:
                raise OSError(f"{region.path} shrank while it was being sent")
            left -= len(data)
            handler.write(data)
            await handler.flush()


async def write_log_chunk(handler: RequestHandler, chunk: LogChunk) -> None:
    """Send one chunk of a log and wait until the socket took it."""
    if isinstance(chunk, bytes):
        handler.write(chunk)
        await handler.flush()
        return
    if chunk.length <= 0:
        return
    if chunk.length <= COPY_MAX:
        # Read and written in one piece with what tornado still holds (the
        # headers before a first chunk): one send, where sendfile takes four.
        await _copy_region(handler, chunk)
        return
    # Headers (and anything written before) go first, through tornado.
    await handler.flush()
    if _can_sendfile(handler):
        await _send_region(handler, chunk)
    else:
        await _copy_region(handler, chunk)


async def log_bytes(chunks: AsyncIterator[LogChunk]) -> AsyncIterator[bytes]:
    """A log's chunks as bytes, for senders that cannot pass a file on (events).

    A small region (a followed job's new output) is read at once, as
    :func:`write_log_chunk` copies one; a larger one in a worker thread, a MiB
    at a time, so a long log neither blocks the event loop nor sits in memory
    whole. Closing this closes ``chunks``.
    """
    try:
        async for chunk in chunks:
            if isinstance(chunk, bytes):
                yield chunk
                continue
            if chunk.length <= COPY_MAX:
                if chunk.length > 0:
                    yield chunk.read()
                continue
            done = 0
            while done < chunk.length:
                size = min(_READ_SIZE, chunk.length - done)
                part = FileRegion(chunk.path, chunk.offset + done, size)
                data = await asyncio.to_thread(part.read)
                if not data:
                    raise OSError(f"{chunk.path} shrank while it was being sent")
                done += len(data)
                yield data
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
