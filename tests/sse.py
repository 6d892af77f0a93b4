"""A server-sent events reader over a plain socket, for stream tests.

HTTP/1.0, so the body is the events as sent (no chunk framing) and the
stream's end is the connection's end; closing it is closing the socket.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Event:
    """One server-sent event (comments are not events)."""

    event: str = "message"
    id: str | None = None
    data: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class EventStream:
    """An open ``text/event-stream`` response."""

    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    comments: list[str] = field(default_factory=list)

    async def next(self) -> Event | None:
        """The next event; None at the end of the stream."""
        event = Event()
        seen = False
        while True:
            line = await self.reader.readline()
            if not line:
                return event if seen else None
            text = line.decode().rstrip("\r\n")
            if not text:
                if seen:
                    return event
                continue
            name, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if not name:
                self.comments.append(value)
                continue
            if name == "event":
                event.event, seen = value, True
            elif name == "id":
                event.id, seen = value, True
            elif name == "data":
                event.data, seen = (f"{event.data}\n{value}" if event.data else value), True

    async def next_of(self, kind: str) -> Event:
        """The next event named ``kind`` (others skipped)."""
        while True:
            event = await self.next()
            assert event is not None, f"the stream ended before an event {kind!r}"
            if event.event == kind:
                return event

    async def rest(self) -> list[Event]:
        """Every event until the stream ends."""
        events = []
        while (event := await self.next()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self.writer.close()


async def open_events(
    url: str, token: str, headers: dict[str, str] | None = None, rcvbuf: int | None = None
) -> EventStream:
    """GET ``url`` (``http://host:port/path?query``) and read up to the body."""
    parts = urlsplit(url)
    sock = None
    if rcvbuf is not None:
        import socket

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 24)
    else:
        reader, writer = await asyncio.open_connection(
            parts.hostname, parts.port or 80, limit=1 << 24
        )
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.0", f"Host: {parts.netloc}", f"Authorization: token {token}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = (await reader.readline()).decode()
    status = int(status_line.split()[1])
    answer: dict[str, str] = {}
    while (line := (await reader.readline()).decode().rstrip("\r\n")) != "":
        name, _, value = line.partition(":")
        answer[name.strip().lower()] = value.strip()
    return EventStream(status, answer, reader, writer)
