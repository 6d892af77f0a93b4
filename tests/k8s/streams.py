"""The pod subresources that stream: ``log`` (HTTP) and ``exec`` (WebSocket, channel.k8s.io).

Exec speaks the Kubernetes remotecommand WebSocket protocol: every binary frame
starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4
resize; 255 close in v5). The last frame on channel 3 is a Status: Success, or
Failure/NonZeroExitCode with the exit code in ``details.causes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import struct
import termios
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .containers import kill_group
from .selectors import BadRequest, parse_bool
from .store import ApiError

if TYPE_CHECKING:
    from .kubelet import Kubelet

__all__ = ["serve_exec", "serve_log"]

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _int(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax ({key})') from error


async def serve_log(request: web.Request, kubelet: Kubelet) -> web.StreamResponse:
    """``GET .../pods/{name}/log``: follow, previous, timestamps, tailLines, since*, limitBytes."""
    q = request.query
    ns, name = request.match_info["namespace"], request.match_info["name"]
    follow = parse_bool(q.get("follow", "false"), "follow")
    timestamps = parse_bool(q.get("timestamps", "false"), "timestamps")
    previous = parse_bool(q.get("previous", "false"), "previous")
    tail, limit = _int(q, "tailLines"), _int(q, "limitBytes")
    since_ns = None
    if (seconds := _int(q, "sinceSeconds")) is not None:
        since_ns = time.time_ns() - seconds * 1_000_000_000
    elif "sinceTime" in q:
        stamp = datetime.fromisoformat(q["sinceTime"].replace("Z", "+00:00"))
        since_ns = int(stamp.timestamp() * 1e9)
    log = kubelet.log_of(ns, name, q.get("container"), previous)
    if log is None:  # not on a node yet: the API server answers an empty log
        return web.Response(body=b"", content_type="text/plain")
    entries = log.select(tail=tail, since_ns=since_ns)
    body = log.render(entries, timestamps)
    if limit is not None:
        body = body[:limit]
    if not follow:
        return web.Response(body=body, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = len(body)
    await response.write(body)
    with contextlib.suppress(ConnectionResetError):
        async for batch in log.follow(len(log.entries)):
            chunk = log.render(batch, timestamps)
            if limit is not None:
                chunk = chunk[: max(0, limit - sent)]
            sent += len(chunk)
            if chunk:
                await response.write(chunk)
            if limit is not None and sent >= limit:
                break
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _status(code: int, argv: list[str]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(argv)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def _start_error(argv: list[str], error: OSError) -> dict[str, Any]:
    why = (
        "executable file not found in $PATH" if isinstance(error, FileNotFoundError) else str(error)
    )
    message = (
        "error executing command in container: failed to exec in container: failed to start exec: "
        "OCI runtime exec failed: exec failed: unable to start container process: "
        f'exec: "{argv[0]}": {why}: unknown'
    )
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def _take_controlling_tty() -> None:  # runs in the child, after setsid
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _Session:
    """One exec: the process, its output pumps and the client's input."""

    def __init__(self, ws: web.WebSocketResponse, argv: list[str], tty: bool, v5: bool) -> None:
        self.ws, self.argv, self.tty, self.v5 = ws, argv, tty, v5
        self.master = -1
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, env: dict[str, str], cwd: str, stdin: bool) -> None:
        if self.tty:
            self.master, follower = pty.openpty()
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    stdin=follower,
                    stdout=follower,
                    stderr=follower,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                    preexec_fn=_take_controlling_tty,
                )
            finally:
                os.close(follower)
            return
        pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=pipe if stdin else devnull,
            stdout=pipe,
            stderr=pipe,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )

    async def _send(self, channel: int, data: bytes) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            if not self.ws.closed:
                await self.ws.send_bytes(bytes([channel]) + data)

    async def _pump(self, channel: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            await self._send(channel, data)

    async def _pump_tty(self) -> None:
        loop, queue = asyncio.get_running_loop(), asyncio.Queue[bytes]()

        def readable() -> None:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self.master)
            queue.put_nowait(data)

        loop.add_reader(self.master, readable)
        while data := await queue.get():
            await self._send(STDOUT, data)

    async def _input(self) -> None:
        assert self.proc is not None
        writer = self.proc.stdin
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN and self.tty:
                os.write(self.master, data)
            elif channel == STDIN and writer is not None:
                writer.write(data)
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    await writer.drain()
            elif channel == RESIZE and self.tty:
                size = json.loads(data)
                winsize = struct.pack("HHHH", size.get("Height", 24), size.get("Width", 80), 0, 0)
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, winsize)
            elif channel == CLOSE and self.v5 and data[:1] == bytes([STDIN]) and writer is not None:
                writer.close()
        if writer is not None:  # the connection is gone: stdin ends, the command runs on
            writer.close()

    async def run(self) -> int:
        assert self.proc is not None
        for channel in (STDOUT, STDERR, ERROR):  # each channel says it is open
            await self._send(channel, b"")
        reader = asyncio.create_task(self._input())
        if self.tty:
            pumps = [self._pump_tty()]
        else:
            assert self.proc.stdout is not None and self.proc.stderr is not None
            pumps = [self._pump(STDOUT, self.proc.stdout), self._pump(STDERR, self.proc.stderr)]
        try:
            await asyncio.gather(*pumps)
            code = await self.proc.wait()
        finally:
            reader.cancel()
            if self.master >= 0:
                os.close(self.master)
        return 128 - code if code < 0 else code


async def serve_exec(request: web.Request, kubelet: Kubelet) -> web.StreamResponse:
    """``GET/POST .../pods/{name}/exec`` over a WebSocket (v4/v5.channel.k8s.io)."""
    q = request.query
    ns, name = request.match_info["namespace"], request.match_info["name"]
    argv = q.getall("command", [])
    flags = {k: parse_bool(q.get(k, "false"), k) for k in ("stdin", "stdout", "stderr", "tty")}
    if not argv:
        raise ApiError(400, "BadRequest", "you must specify at least 1 command")
    if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
        raise ApiError(400, "BadRequest", "you must specify at least one of stdin, stdout, stderr")
    state, env, cwd = kubelet.exec_target(ns, name, q.get("container"))
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(400, "BadRequest", "Upgrade request required")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    session = _Session(ws, argv, flags["tty"], ws.ws_protocol == "v5.channel.k8s.io")
    try:
        await session.start(env, cwd, flags["stdin"])
    except OSError as error:
        await session._send(ERROR, json.dumps(_start_error(argv, error)).encode())
        await ws.close()
        return ws
    proc = session.proc
    assert proc is not None
    state.execs.add(proc)
    try:
        code = await session.run()
    except asyncio.CancelledError:  # the client went away: the command goes with it
        kill_group(proc.pid)
        await proc.wait()
        raise
    finally:
        state.execs.discard(proc)
    await session._send(ERROR, json.dumps(_status(code, argv)).encode())
    await ws.close()
    return ws
