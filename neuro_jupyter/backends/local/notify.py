"""Wake-ups from runners to the server: "look at job X now" (Linux only).

The files of a job's folder stay the only truth (:mod:`.jobdir`); a wake-up
only tells the server to read them now rather than at its next poll, so
``running`` and the end of a job are seen within a millisecond or so. A lost
wake-up (no server, a full buffer) costs nothing but that delay.

The server listens on a datagram socket in Linux's abstract namespace, named
after the jobs folder: no file to clean up, no path-length limit, and a server
restarted on the same folder gets the wake-ups of runners started by the old
one. Anyone on the machine may send one; all it can cause is a read of files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner imports this module: no asyncio import at run time
    import asyncio

__all__ = ["SUPPORTED", "Listener", "address", "notify"]

SUPPORTED = sys.platform.startswith("linux")
"""Abstract Unix sockets exist on Linux only; elsewhere the server just polls."""


def address(jobs_dir: Path, kind: str = "events", salt: str = "") -> str:
    """The abstract socket name for ``kind`` of ``jobs_dir`` (and this user)."""
    key = f"{os.path.realpath(jobs_dir)}\0{salt}".encode()
    digest = hashlib.sha256(key).hexdigest()[:32]
    return f"\0neuro-jupyter-{kind}-{os.getuid()}-{digest}"


def notify(job_dir: Path) -> None:
    """Tell the server watching ``job_dir``'s parent to look at it now (best effort)."""
    if not SUPPORTED:
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.sendto(job_dir.name.encode(), address(job_dir.parent))


class Listener:
    """The server's end: calls ``on_job(job_id)`` from the event loop per wake-up."""

    def __init__(self, jobs_dir: Path, on_job: Callable[[str], None]) -> None:
        self._address = address(jobs_dir)
        self._on_job = on_job
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Start listening on ``loop``; False if it cannot (then the server polls)."""
        if not SUPPORTED:
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(self._address)
        except OSError:  # another server watches this folder
            sock.close()
            return False
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._drain)
        self._sock, self._loop = sock, loop
        return True

    def _drain(self) -> None:
        assert self._sock is not None
        names = set()
        while True:
            try:
                names.add(self._sock.recv(256).decode(errors="replace"))
            except (BlockingIOError, InterruptedError):
                break
        for name in names:
            self._on_job(name)

    def close(self) -> None:
        """Stop listening."""
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
