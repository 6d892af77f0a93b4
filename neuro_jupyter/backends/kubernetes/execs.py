"""Exec in a job's container: a session over the pod exec WebSocket (issue 6).

:class:`PodExecSession` speaks ``v4.channel.k8s.io``; :func:`_exit_code` reads
the command's exit code from the final Status frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

__all__ = ["PodExecSession"]

log = logging.getLogger(__name__)

_STDIN, _STDOUT, _STDERR, _STATUS, _RESIZE = 0, 1, 2, 3, 4


class PodExecSession:
    """An :class:`~..base.ExecSession` over a ``v4.channel.k8s.io`` WebSocket.

    Frames are one channel byte and data: 0 stdin, 1 stdout, 2 stderr, 3 the
    final Status (with the exit code), 4 a TTY resize. The v4 protocol has no
    half-close: :meth:`close_stdin` sends nothing (commands that read to the
    end of input need a TTY's ^D, or the session's end).
    """

    def __init__(self, ws: Any, tty: bool) -> None:
        self._ws = ws
        self._tty = tty
        self._output: asyncio.Queue[bytes] = asyncio.Queue()
        self._code: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read_frames())
        self._tasks: set[asyncio.Task[None]] = set()

    async def _read_frames(self) -> None:
        import aiohttp

        code: int | None = None
        try:
            async for message in self._ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    data = bytes(message.data)
                elif message.type == aiohttp.WSMsgType.TEXT:
                    data = str(message.data).encode()
                else:
                    break
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel in (_STDOUT, _STDERR) and payload:
                    self._output.put_nowait(payload)
                elif channel == _STATUS and payload:
                    code = _exit_code(payload)
                    failure = _start_failure(payload)
                    if failure:  # the command never ran: say why, as a shell would
                        self._output.put_nowait(failure.encode() + b"\n")
        except Exception:
            log.debug("exec stream broke", exc_info=True)
        finally:
            self._output.put_nowait(b"")
            if not self._code.done():
                self._code.set_result(code if code is not None else -1)
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def read(self) -> bytes:
        """The next output bytes; ``b""`` once the output ended."""
        data = await self._output.get()
        if not data:
            self._output.put_nowait(b"")  # later reads see the end too
        return data

    async def write(self, data: bytes) -> None:
        """Send ``data`` to the command's standard input."""
        if not self._ws.closed:
            await self._ws.send_bytes(bytes([_STDIN]) + data)

    async def close_stdin(self) -> None:
        """No half-close in v4.channel.k8s.io (see the class docstring)."""

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the TTY (channel 4); no-op without one."""
        if self._tty and not self._ws.closed:
            size = json.dumps({"Width": cols, "Height": rows}).encode()
            self._spawn(self._ws.send_bytes(bytes([_RESIZE]) + size))

    async def wait(self) -> int:
        """The command's exit code (-1 where the stream ended without one)."""
        return await asyncio.shield(self._code)

    def kill(self) -> None:
        """End the session (closing the stream ends the command's I/O)."""
        self._spawn(self._ws.close())


def _exit_code(payload: bytes) -> int:
    """The exit code in an exec Status (``Success``, or ``details.causes`` ExitCode).

    A command that could not start (the runtime's ``InternalError``, no
    ExitCode cause) gets a shell's code: 127 not found, 126 not executable.
    """
    try:
        status = json.loads(payload)
    except ValueError:
        return -1
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            with contextlib.suppress(ValueError, TypeError):
                return int(cause.get("message"))
    if status.get("reason") == "InternalError":
        message = str(status.get("message") or "")
        return 127 if "not found" in message or "no such file" in message else 126
    return 1


def _start_failure(payload: bytes) -> str:
    """Why an exec's command could not start ("" where it ran)."""
    with contextlib.suppress(ValueError, AttributeError):
        status = json.loads(payload)
        if status.get("reason") == "InternalError":
            return str(status.get("message") or "the command could not be started")
    return ""
