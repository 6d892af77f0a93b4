"""A small web app the proxy tests run *as a job*: it shows what reached it.

``python upstream_app.py --port N``. Every path not listed echoes the request
as JSON; the listed ones set cookies, redirect, stream, serve big bodies (and
say what they sent), hang, and echo WebSocket messages (with subprotocols and
close codes, and pings sent on request).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import struct
import zlib
from typing import Any

from tornado import web, websocket

last_close: dict[str, Any] = {}
last_sent: dict[str, Any] = {}

PATTERN = (bytes(range(256)) * 4096)[:-8]
"""A numbered block after its 8-byte number: 1 MiB in all."""


@web.stream_request_body
class EchoHandler(web.RequestHandler):
    """Any method, any path: method, raw URI, headers, cookies and a body digest."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def prepare(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.first = b""

    def data_received(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
        if len(self.first) < 65536:
            self.first += chunk[: 65536 - len(self.first)]

    def _echo(self, *args: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Upstream", "yes")
        self.finish(
            json.dumps(
                {
                    "method": self.request.method,
                    "uri": self.request.uri,
                    "headers": list(self.request.headers.get_all()),
                    "cookies": {k: v.value for k, v in self.request.cookies.items()},
                    "body_size": self.size,
                    "body_sha256": self.digest.hexdigest(),
                    "body_head": self.first.decode("utf-8", "replace"),
                }
            )
        )

    get = post = put = delete = patch = options = _echo

    def head(self, *args: str) -> None:
        self.set_header("Content-Length", "12345")
        self.set_header("X-Upstream", "yes")
        self.finish()


class CookiesHandler(web.RequestHandler):
    def get(self) -> None:
        self.add_header("Set-Cookie", "first=1; Path=/")
        self.add_header("Set-Cookie", "second=2; Path=/sub; Domain=example.com; HttpOnly")
        self.add_header("Set-Cookie", "third=3")
        self.finish("ok")


class RedirectHandler(web.RequestHandler):
    def get(self) -> None:
        self.set_status(int(self.get_argument("status", "302")))
        self.set_header("Location", self.get_argument("to"))
        self.finish()


class StatusHandler(web.RequestHandler):
    def get(self, code: str) -> None:
        self.set_status(int(code), "Custom Reason")
        if int(code) not in (204, 304):
            self.finish(f"status {code}")


class StreamHandler(web.RequestHandler):
    """``n`` chunks, ``delay`` seconds apart, each flushed at once."""

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        for i in range(int(self.get_argument("n", "3"))):
            self.write(f"chunk {i}\n")
            await self.flush()
            await asyncio.sleep(float(self.get_argument("delay", "0.3")))
        self.finish()


class BigHandler(web.RequestHandler):
    """``mb`` MiB of zeros with a Content-Length."""

    async def get(self) -> None:
        mb = int(self.get_argument("mb", "10"))
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(mb * 1024 * 1024))
        block = b"\0" * (1024 * 1024)
        for _ in range(mb):
            self.write(block)
            await self.flush()
        self.finish()


class NumberedHandler(web.RequestHandler):
    """``n`` bytes (default 1 GiB) in 1 MiB blocks, each starting with its number.

    Every block differs, so a lost, repeated or reordered block changes the
    CRC-32, which ``/numbered-sent`` reports, with the count, once all is written.
    """

    async def get(self) -> None:
        left = int(self.get_argument("n", str(1 << 30)))
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(left))
        last_sent.clear()
        sent = crc = number = 0
        while left > 0:
            block = (struct.pack(">Q", number) + PATTERN)[: min(left, len(PATTERN) + 8)]
            crc = zlib.crc32(block, crc)
            self.write(block)
            await self.flush()  # waits for the socket: one block in memory at a time
            sent += len(block)
            left -= len(block)
            number += 1
        last_sent.update(bytes=sent, crc32=crc)


class NumberedSentHandler(web.RequestHandler):
    def get(self) -> None:
        self.finish(last_sent)


class HangHandler(web.RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(3600)


class LastCloseHandler(web.RequestHandler):
    def get(self) -> None:
        self.finish(last_close)


class EchoSocket(websocket.WebSocketHandler):
    """Echoes each message as it came; ``close:CODE:REASON`` closes with that code.

    ``ping:DATA`` makes the job ping its peer with DATA; the pong that comes
    back is reported as the text message ``pong:DATA``.
    """

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "second" if "second" in subprotocols else None

    @property
    def max_message_size(self) -> int:
        return 64 * 1024 * 1024

    def open(self) -> None:
        self.write_message(json.dumps({"protocol": self.selected_subprotocol}))

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str) and message.startswith("close:"):
            _, code, reason = message.split(":", 2)
            self.close(int(code), reason)
            return
        if isinstance(message, str) and message.startswith("ping:"):
            self.ping(message[len("ping:") :].encode())
            return
        await self.write_message(message, binary=isinstance(message, bytes))

    def on_pong(self, data: bytes) -> None:
        self.write_message("pong:" + data.decode())

    def on_close(self) -> None:
        last_close.update(code=self.close_code, reason=self.close_reason)


def make_app() -> web.Application:
    return web.Application(
        [
            (r"/set-cookies", CookiesHandler),
            (r"/redirect", RedirectHandler),
            (r"/status/(\d+)", StatusHandler),
            (r"/stream", StreamHandler),
            (r"/big", BigHandler),
            (r"/numbered", NumberedHandler),
            (r"/numbered-sent", NumberedSentHandler),
            (r"/hang", HangHandler),
            (r"/ws", EchoSocket),
            (r"/ws-last-close", LastCloseHandler),
            (r"(.*)", EchoHandler),
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    make_app().listen(args.port, address="127.0.0.1", max_body_size=1 << 40)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
