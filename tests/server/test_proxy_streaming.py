"""The job proxy under load, black box: a 1 GiB download, WebSocket pings, big messages.

The job is ``tests/resources/upstream_app.py`` again. The download runs
through a real ``jupyter server`` process, so its memory can be read while
the bytes pass; the WebSocket tests use pytest-jupyter's server, as
``test_proxy.py`` does. Nothing here times anything: speed is for benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shlex
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect
from websockets.asyncio.client import connect

from tests.conftest import ALICE_TOKEN
from tests.real_server import TOKEN, RealServer, free_port
from tests.server.test_proxy import Start, start_app, ws_url  # noqa: F401  (fixtures)

APP = Path(__file__).parent.parent / "resources" / "upstream_app.py"
GiB = 1 << 30
MiB = 1 << 20


# -- a 1 GiB download ---------------------------------------------------------------


def start_numbered_job(server: RealServer) -> None:
    """The upstream app as ``server``'s job ``numbered``, its HTTP port behind the proxy."""
    port = free_port()
    command = shlex.join([sys.executable, str(APP), "--port", str(port)])
    spec = {"image": "python", "name": "numbered", "command": command, "http": {"port": port}}
    server.request("POST", "jobs", spec)
    server.wait_job("numbered", lambda j: j["status"] == "running")
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the job never listened"
            time.sleep(0.05)


class RssPeak:
    """The highest RSS of a process, sampled every few milliseconds in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def download(server: RealServer, path: str) -> tuple[int, int, int]:
    """GET ``path`` through the proxy into a reused 1 MiB buffer; status, size and CRC-32."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(
            "GET",
            f"{server.base_url}neuro/jobs/{path}",
            headers={"Authorization": f"token {TOKEN}"},
        )
        response = connection.getresponse()
        buffer = memoryview(bytearray(MiB))
        size = crc = 0
        while n := response.readinto(buffer):
            size += n
            crc = zlib.crc32(buffer[:n], crc)
        return response.status, size, crc
    finally:
        connection.close()


def sent_by_job(server: RealServer, expected_size: int) -> dict[str, Any]:
    """What the job says it wrote, once its handler has finished writing."""
    deadline = time.monotonic() + 10
    while True:
        status, body = 0, b""
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request(
                "GET",
                f"{server.base_url}neuro/jobs/numbered/numbered-sent",
                headers={"Authorization": f"token {TOKEN}"},
            )
            response = connection.getresponse()
            status, body = response.status, response.read()
        finally:
            connection.close()
        assert status == 200, body
        sent: dict[str, Any] = json.loads(body)
        if sent.get("bytes") == expected_size or time.monotonic() > deadline:
            return sent
        time.sleep(0.05)


def test_a_1_gib_download_is_exact_and_the_server_memory_stays_flat(
    real_server: RealServer,
) -> None:
    """1 GiB of numbered blocks reaches the visitor whole, byte count and CRC-32
    equal to what the job wrote, while the jupyter server's RSS grows by < 50 MB."""
    start_numbered_job(real_server)
    # A first, small download makes the proxy's client, pool and buffers, which
    # are paid once per server, not per byte.
    assert download(real_server, f"numbered/numbered?n={3 * MiB + 5}")[:2] == (200, 3 * MiB + 5)
    assert real_server.process is not None
    with RssPeak(real_server.process.pid) as rss:
        before = rss.peak
        status, size, crc = download(real_server, f"numbered/numbered?n={GiB}")
    assert status == 200
    assert size == GiB
    assert sent_by_job(real_server, GiB) == {"bytes": GiB, "crc32": crc}
    growth = rss.peak - before
    assert growth < 50 * 1000 * 1000, f"the server's RSS grew by {growth / MiB:.1f} MiB"
    real_server.request("DELETE", "jobs/numbered")


def pipes_of(pid: int) -> int:
    """Non-blocking pipe ends the process holds open (the proxy's splice makes
    such; the server's other pipes, to job processes, block)."""
    found = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                flags = next(line for line in info if line.startswith("flags:"))
            found += bool(int(flags.split()[1], 8) & os.O_NONBLOCK)
    return found


def test_a_large_body_of_known_length_is_spliced_not_copied(real_server: RealServer) -> None:
    """A 64 MiB answer with a Content-Length moves socket -> pipe -> socket in the
    kernel (issue 11): while the visitor holds back, the server holds the pipe;
    the bytes arrive whole and exact, and the pipe is gone after."""
    start_numbered_job(real_server)
    assert real_server.process is not None
    pid = real_server.process.pid
    # The first upstream request makes the proxy's client (and a pipe of its own).
    assert download(real_server, "numbered/numbered?n=1000")[:2] == (200, 1000)
    before = pipes_of(pid)
    size = 64 * MiB + 3
    connection = http.client.HTTPConnection("127.0.0.1", real_server.port, timeout=60)
    try:
        connection.request(
            "GET",
            f"{real_server.base_url}neuro/jobs/numbered/numbered?n={size}",
            headers={"Authorization": f"token {TOKEN}"},
        )
        response = connection.getresponse()
        assert response.getheader("Content-Length") == str(size)
        head = response.read(MiB)
        deadline = time.monotonic() + 10
        while pipes_of(pid) < before + 2:
            assert time.monotonic() < deadline, "no pipe: the body was not spliced"
            time.sleep(0.02)
        rest = response.read()
    finally:
        connection.close()
    crc = zlib.crc32(rest, zlib.crc32(head))
    assert len(head) + len(rest) == size
    assert sent_by_job(real_server, size) == {"bytes": size, "crc32": crc}
    deadline = time.monotonic() + 10
    while pipes_of(pid) > before:
        assert time.monotonic() < deadline, "the pipe outlived the answer"
        time.sleep(0.02)
    # A visitor who leaves mid-body: the splice stops and lets its pipe go.
    leaving = http.client.HTTPConnection("127.0.0.1", real_server.port, timeout=60)
    leaving.request(
        "GET",
        f"{real_server.base_url}neuro/jobs/numbered/numbered?n={size}",
        headers={"Authorization": f"token {TOKEN}"},
    )
    leaving.getresponse().read(MiB)
    leaving.close()
    deadline = time.monotonic() + 20
    while pipes_of(pid) > before:
        assert time.monotonic() < deadline, "the pipe outlived its visitor"
        time.sleep(0.02)
    # A small one is copied as before, and the proxy goes on serving.
    assert download(real_server, f"numbered/numbered?n={MiB // 2}")[:2] == (200, MiB // 2)
    real_server.request("DELETE", "jobs/numbered")


# -- WebSockets: pings and keep-alive -----------------------------------------------


async def test_pings_get_pongs_both_ways_and_an_idle_socket_stays_open(
    start_app: Start,  # noqa: F811
    ws_url: Callable[[str], str],  # noqa: F811
    jp_serverapp: Any,
) -> None:
    """A visitor's ping through the proxy gets its pong, with its payload; the
    job's ping to the proxy gets its pong too; a socket idle for four times the
    proxy's timeout, kept alive by pings every 0.2 s, still relays both ways."""
    await start_app("web")
    jp_serverapp.web_app.settings["neuro_proxy_timeout"] = 0.5
    async with connect(
        ws_url("web/ws"),
        additional_headers={"Authorization": f"token {ALICE_TOKEN}"},
        ping_interval=0.2,  # websockets closes the socket (1011) if a pong is late
        ping_timeout=2,
        open_timeout=20,
    ) as ws:
        assert json.loads(await ws.recv()) == {"protocol": None}
        latency = await (await ws.ping(b"visitor-1"))
        assert latency >= 0
        await ws.send("ping:job-1")
        assert await ws.recv() == "pong:job-1"
        await asyncio.sleep(2.0)
        await ws.send("ping:job-2")
        assert await ws.recv() == "pong:job-2"
        await (await ws.ping(b"visitor-2"))
        await ws.send("still here")
        assert await ws.recv() == "still here"
        await ws.send(b"\x00bytes")
        assert await ws.recv() == b"\x00bytes"


# -- WebSockets: messages of 16 MiB and more -----------------------------------------


async def test_messages_of_16_mib_and_more_pass_intact_both_ways(
    start_app: Start,  # noqa: F811
    ws_url: Callable[[str], str],  # noqa: F811
) -> None:
    """Binary messages of exactly 16 MiB and of 20 MiB, and a 17 MiB text
    message of multi-byte characters, go to the job and come back unchanged."""
    await start_app("web")
    request = HTTPRequest(ws_url("web/ws"), headers={"Authorization": f"token {ALICE_TOKEN}"})
    ws = await websocket_connect(request, max_message_size=64 * MiB)
    try:
        assert json.loads(await ws.read_message()) == {"protocol": None}
        exact = os.urandom(16 * MiB)
        binary = os.urandom(20 * MiB)
        text = "é€ab\n" * (17 * MiB // 8 + 1)  # 8 bytes of UTF-8 each: just over 17 MiB
        assert len(text.encode()) > 17 * MiB
        for message in (exact, binary, text):
            await ws.write_message(message, binary=isinstance(message, bytes))
            echoed = await ws.read_message()
            assert type(echoed) is type(message)
            assert echoed == message
    finally:
        ws.close()
