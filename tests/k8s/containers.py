"""The container runtime: a container is a local process group; its output is its log.

The log keeps what a CRI runtime's log file keeps: one entry per line with the
time it was read and its stream, a line longer than 16 KiB split into partial
entries, and a last unterminated line written when the container exits. A
container's processes die together when its main process exits, as in a PID
namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import AsyncIterator

import psutil

from .selectors import rfc3339_nano

__all__ = ["ContainerLog", "ContainerProcess", "StartError", "expand", "kill_group"]

MAX_LINE = 16 * 1024  # containerd's maximum log line; longer ones become partial entries


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group ``pid`` leads, if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion in command, args and env values (``$$`` escapes)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0).startswith("$$"):
            return match.group(0)[1:]
        name = match.group(1)
        return env.get(name, match.group(0))

    return re.sub(r"\$\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", one, text)


class ContainerLog:
    """One container instance's log: ``(time_ns, stream, bytes)`` entries, then closed."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str, bytes]] = []
        self.closed = False
        self._changed = asyncio.Event()

    def append(self, stream: str, data: bytes) -> None:
        """Add one line (or partial line) read from ``stream`` now."""
        self.entries.append((time.time_ns(), stream, data))
        self._changed.set()

    def close(self) -> None:
        """No more output: followers finish."""
        self.closed = True
        self._changed.set()

    async def pump(self, stream: str, reader: asyncio.StreamReader) -> None:
        """Read ``reader`` to its end, line by line, into this log."""
        pending = b""
        while chunk := await reader.read(65536):
            pending += chunk
            while True:
                newline = pending.find(b"\n")
                if 0 <= newline < MAX_LINE:
                    self.append(stream, pending[: newline + 1])
                    pending = pending[newline + 1 :]
                elif len(pending) >= MAX_LINE:
                    self.append(stream, pending[:MAX_LINE])
                    pending = pending[MAX_LINE:]
                else:
                    break
        if pending:
            self.append(stream, pending)

    def select(self, *, tail: int | None, since_ns: int | None) -> list[tuple[int, str, bytes]]:
        """The entries a log request asks for (``tailLines``, ``sinceSeconds``/``sinceTime``)."""
        entries = self.entries
        if since_ns is not None:
            entries = [e for e in entries if e[0] >= since_ns]
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        return entries

    @staticmethod
    def render(entries: list[tuple[int, str, bytes]], timestamps: bool) -> bytes:
        """The bytes served for ``entries``, each prefixed by its time when asked."""
        if not timestamps:
            return b"".join(data for _, _, data in entries)
        return b"".join(rfc3339_nano(ns).encode() + b" " + data for ns, _, data in entries)

    async def follow(self, start: int) -> AsyncIterator[list[tuple[int, str, bytes]]]:
        """Entries from index ``start`` on, in batches as they come, until the log closes."""
        index = start
        while True:
            self._changed.clear()
            if index < len(self.entries):
                batch = self.entries[index:]
                index = len(self.entries)
                yield batch
                continue
            if self.closed:
                return
            await self._changed.wait()


class StartError(Exception):
    """The runtime could not start the container's command (exit code 128, StartError)."""


class ContainerProcess:
    """One run of a container: its process group, output pumps and resource usage."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, log: ContainerLog) -> None:
        self.argv, self.env, self.cwd, self.log = argv, env, cwd, log
        self.process: asyncio.subprocess.Process | None = None
        self.oom_killed = False
        self.started_at = 0.0
        self._pumps: list[asyncio.Task[None]] = []
        self._last_sample: tuple[float, float] | None = None

    @property
    def pid(self) -> int:
        """The main process id."""
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Start the command in its own process group.

        Raises:
            StartError: the executable is missing or not runnable, worded as runc does.
        """
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
            why = (
                "executable file not found in $PATH"
                if isinstance(error, FileNotFoundError)
                else "permission denied"
            )
            self.log.close()
            raise StartError(
                "failed to create containerd task: failed to create shim task: OCI runtime "
                "create failed: runc create failed: unable to start container process: exec: "
                f'"{self.argv[0]}": {why}: unknown'
            ) from error
        self.started_at = time.time()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._pumps = [
            asyncio.create_task(self.log.pump("stdout", self.process.stdout)),
            asyncio.create_task(self.log.pump("stderr", self.process.stderr)),
        ]

    async def wait(self) -> int:
        """Wait for the main process to exit; end the rest of its group; close the log.

        Returns:
            The exit code as Kubernetes reports it (128 + signal when killed).
        """
        assert self.process is not None
        code = await self.process.wait()
        kill_group(self.process.pid)  # the PID namespace goes with its init process
        _, pending = await asyncio.wait(self._pumps, timeout=2.0)
        for task in pending:  # a process that left the group still holds the pipe
            task.cancel()
        self.log.close()
        return 128 - code if code < 0 else code

    def terminate(self) -> None:
        """SIGTERM to the main process, as the runtime stops a container."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the whole group (not once the main process is reaped: its id is free)."""
        if self.process is not None and self.process.returncode is None:
            kill_group(self.process.pid)

    def usage(self) -> tuple[float, int, float] | None:
        """(cores used since the last sample, resident bytes, window seconds), or None."""
        if self.process is None or self.process.returncode is not None:
            return None
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
            cpu, rss = 0.0, 0
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                    rss += proc.memory_info().rss
        except psutil.NoSuchProcess:
            return None
        now = time.monotonic()
        last_time, last_cpu = self._last_sample or (
            now - max(time.time() - self.started_at, 1e-3),
            0.0,
        )
        self._last_sample = (now, cpu)
        window = max(now - last_time, 1e-3)
        return max(cpu - last_cpu, 0.0) / window, rss, window

    def resident_bytes(self) -> int:
        """The group's resident memory now (0 when gone)."""
        if self.process is None or self.process.returncode is not None:
            return 0
        total = 0
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.process.pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                    total += proc.memory_info().rss
        return total
