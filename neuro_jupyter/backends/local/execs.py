"""Commands run inside a local job (``exec``): over pipes, or on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import termios
from collections.abc import Mapping, Sequence

from .jobdir import signal_groups
from .runner import exit_code_of

__all__ = ["LocalExecSession", "start_exec"]

_READ = 1 << 16


def _take_terminal() -> None:  # pragma: no cover - runs in the child
    # The new session's controlling terminal: job control and SIGWINCH work.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class LocalExecSession:
    """An :class:`~neuro_jupyter.backends.base.ExecSession` over file descriptors.

    ``out_fd`` is the pipe (or pty master) the command writes to; ``in_fd`` the
    one it reads from (the same master with a tty).
    """

    def __init__(self, proc: subprocess.Popen[bytes], out_fd: int, in_fd: int, tty: bool) -> None:
        self._proc = proc
        self._out: int | None = out_fd
        self._in: int | None = in_fd
        self._tty = tty
        for fd in {out_fd, in_fd}:
            os.set_blocking(fd, False)

    async def _ready(self, fd: int, writing: bool) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        if writing:
            loop.add_writer(fd, wake)
        else:
            loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            if writing:
                loop.remove_writer(fd)
            else:
                loop.remove_reader(fd)

    async def read(self) -> bytes:
        """The next output bytes; ``b""`` once the output ended."""
        while self._out is not None:
            try:
                data = os.read(self._out, _READ)
            except BlockingIOError:
                await self._ready(self._out, writing=False)
                continue
            except OSError:  # EIO: a pty whose other side closed
                data = b""
            if not data:
                self._close_out()
            return data
        return b""

    async def write(self, data: bytes) -> None:
        """Send ``data`` to the command's input."""
        view = memoryview(data)
        while view:
            if self._in is None:
                raise BrokenPipeError("the command's input is closed")
            try:
                view = view[os.write(self._in, view) :]
            except BlockingIOError:
                await self._ready(self._in, writing=True)

    async def close_stdin(self) -> None:
        """End of input: closes the pipe, or types ^D on a terminal."""
        if self._tty:
            await self.write(b"\x04")
        elif self._in is not None:
            os.close(self._in)
            self._in = None

    def resize(self, rows: int, cols: int) -> None:
        """Set the terminal's size (no-op without one)."""
        if self._tty and self._out is not None:
            fcntl.ioctl(self._out, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    async def wait(self) -> int:
        """Wait for the command to end; its exit code (signal ``n`` -> ``128 + n``)."""
        while self._proc.poll() is None:
            await asyncio.sleep(0.02)  # polling: the command is not an asyncio child
        if not self._tty and self._in is not None:
            os.close(self._in)
            self._in = None
        return exit_code_of(self._proc.returncode)

    def kill(self) -> None:
        """End the command and its process group now."""
        signal_groups([self._proc.pid], signal.SIGKILL)

    def _close_out(self) -> None:
        if self._out is not None:
            os.close(self._out)
            if self._in == self._out:
                self._in = None
            self._out = None

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self._close_out()
            if self._in is not None:
                os.close(self._in)


def start_exec(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, tty: bool
) -> LocalExecSession:
    """Start ``argv`` in its own session; stdout and stderr combined."""
    if not tty:
        out_r, out_w = os.pipe()
        in_r, in_w = os.pipe()
        try:
            proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=in_r, stdout=out_w,
                stderr=out_w, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(out_r)
            os.close(in_w)
            raise
        finally:
            os.close(out_w)
            os.close(in_r)
        return LocalExecSession(proc, out_r, in_w, tty=False)
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, preexec_fn=_take_terminal,
        )  # fmt: skip
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return LocalExecSession(proc, master, master, tty=True)
