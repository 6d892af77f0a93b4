"""A job's output file and its time index: written by the runner, read by the server.

``output.log`` holds the command's combined stdout and stderr exactly as produced
(``\\r`` and partial lines kept). ``output.idx`` holds fixed-size records of
(byte offset, unix time), one per chunk the runner wrote, so ``--since`` and
``--timestamps`` need no per-line bookkeeping while the job runs. The runner
writes a chunk's index record *before* the chunk, so a reader never sees bytes
whose time is unknown.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

from .base import FileRegion

__all__ = [
    "INDEX_NAME",
    "LOG_NAME",
    "LogIndex",
    "LogWriter",
    "format_stamp",
    "log_part",
    "log_start",
    "read_log",
    "read_log_regions",
    "tail_offset",
]

LOG_NAME = "output.log"
INDEX_NAME = "output.idx"
READ_SIZE = 1 << 20
"""Bytes per read when serving logs: large reads keep pace with ``cat``."""
_RECORD = struct.Struct("<Qd")
_FIRST_WAIT = 0.002
"""The first wait for more output: new output often follows soon (a job that
just started, a burst); waits double from here up to ``poll_interval``."""
_COALESCE = 0.005
"""Chunks written within 5 ms share one index record: a chatty job does not
grow an index record per line, and times stay within 5 ms."""


def format_stamp(at: float) -> bytes:
    """``at`` (unix time) as ISO-8601 UTC with microseconds, ``Z``, and a space."""
    stamp = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z").encode() + b" "


class LogWriter:
    """Appends output chunks and their index records (the runner's side)."""

    def __init__(self, job_dir: Path) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._log = os.open(job_dir / LOG_NAME, flags, 0o644)
        self._index = os.open(job_dir / INDEX_NAME, flags, 0o644)
        # Appending after a restart of the command: offsets continue the file.
        self._offset = os.fstat(self._log).st_size
        self._last = -1.0

    def write(self, data: bytes, now: float | None = None) -> None:
        """Append ``data``, recording when it was written."""
        if not data:
            return
        now = time.time() if now is None else now
        if now - self._last >= _COALESCE:
            os.write(self._index, _RECORD.pack(self._offset, now))
            self._last = now
        view = memoryview(data)
        while view:
            written = os.write(self._log, view)
            view = view[written:]
        self._offset += len(data)

    def close(self) -> None:
        """Close both files."""
        os.close(self._log)
        os.close(self._index)


class LogIndex:
    """The (offset, time) records of a job's output, read incrementally."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._read = 0
        self.offsets: list[int] = []
        self.times: list[float] = []

    def refresh(self) -> None:
        """Load the records appended since the last call."""
        try:
            with open(self._path, "rb") as f:
                f.seek(self._read)
                data = f.read()
        except FileNotFoundError:
            return
        whole = len(data) - len(data) % _RECORD.size  # a record may be half-written
        for offset, at in _RECORD.iter_unpack(data[:whole]):
            self.offsets.append(offset)
            self.times.append(at)
        self._read += whole

    def time_at(self, offset: int) -> float | None:
        """When the byte at ``offset`` was written, if the index knows."""
        i = bisect.bisect_right(self.offsets, offset) - 1
        return self.times[i] if i >= 0 else None

    def offset_since(self, at: float) -> int | None:
        """The offset of the first chunk written at or after ``at``; None if none yet."""
        # Shown times are rounded to microseconds: one read back must match.
        i = bisect.bisect_left(self.times, at - 1e-6)
        return self.offsets[i] if i < len(self.offsets) else None


class _Stamper:
    """Prefixes each line with the time its first byte was written."""

    def __init__(self, index: LogIndex) -> None:
        self._index = index
        self._at_line_start = True
        self._cache: tuple[float, bytes] = (-1.0, b"")

    def _stamp(self, offset: int) -> bytes:
        at = self._index.time_at(offset)
        if at is None:
            at = time.time()
        if self._cache[0] != at:
            self._cache = (at, format_stamp(at))
        return self._cache[1]

    def feed(self, data: bytes, base: int) -> bytes:
        self._index.refresh()
        out = bytearray()
        i = 0
        while i < len(data):
            if self._at_line_start:
                out += self._stamp(base + i)
            j = data.find(b"\n", i)
            if j < 0:
                out += data[i:]
                self._at_line_start = False
                break
            out += data[i : j + 1]
            i = j + 1
            self._at_line_start = True
        return bytes(out)


def _start_offset(log: Path, index: LogIndex, since: datetime) -> tuple[int, bool]:
    """Where output written at or after ``since`` begins, and whether that is mid-line."""
    index.refresh()
    offset = index.offset_since(since.timestamp())
    if offset is None:
        offset = log.stat().st_size  # all that exists was written before
    if offset == 0:
        return 0, False
    with open(log, "rb") as f:
        f.seek(offset - 1)
        return offset, f.read(1) != b"\n"


TAIL_READ = 1 << 16
"""Bytes per backward read when looking for a log's last lines."""


def tail_offset(log: Path, lines: int) -> int:
    """Where the last ``lines`` lines of ``log`` begin (a last line without
    its newline counts; a ``\r`` does not end a line).

    Reads backwards from the end, so a 200 MB log costs a few reads for its
    last lines, not 200 MB (issue 12).
    """
    with open(log, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if lines <= 0:
            return size
        end = size
        if size:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                end = size - 1  # the last line's own newline starts nothing
        found = 0
        while end > 0:
            start = max(0, end - TAIL_READ)
            f.seek(start)
            block = f.read(end - start)
            cut = len(block)
            while (cut := block.rfind(b"\n", 0, cut)) >= 0:
                found += 1
                if found == lines:
                    return start + cut + 1
            end = start
        return 0


def log_start(log: Path, tail: int | None) -> int:
    """Where a read of ``log`` from its last ``tail`` lines (None: all) begins,
    as a byte offset; 0 while there is no log yet."""
    try:
        return 0 if tail is None else tail_offset(log, tail)
    except FileNotFoundError:
        return 0


def log_part(log: Path, before: int, limit: int) -> tuple[int, bytes]:
    """The part of ``log`` that ends at byte ``before`` (at most its size):
    at most ``limit`` bytes, from the start of a line unless one line alone
    is longer than ``limit``; with the offset it starts at (issue 12: a page
    loads a log's tail, then earlier parts as the reader scrolls up).

    Empty at offset 0 while there is no log yet.
    """
    try:
        with open(log, "rb", buffering=0) as f:
            end = min(max(before, 0), os.fstat(f.fileno()).st_size)
            start = max(0, end - max(limit, 0))
            # One byte more in front, to tell whether `start` begins a line.
            f.seek(max(start - 1, 0))
            data = f.read(end - max(start - 1, 0))
    except FileNotFoundError:
        return 0, b""
    if start == 0:
        return 0, data
    newline = data.find(b"\n")
    if 0 <= newline < len(data) - 1:
        return start + newline, data[newline + 1 :]
    return start, data[1:]  # one line longer than limit: its end


Nap = Callable[[float], Awaitable[None]]
"""Waits up to the given seconds for more output; may return sooner (a wake-up)."""


async def _appeared(
    log: Path, follow: bool, is_done: Callable[[], bool], poll_interval: float, nap: Nap
) -> bool:
    """Wait (when following) until the log file exists; whether it does."""
    wait = _FIRST_WAIT
    while not log.exists():
        if not follow or is_done():
            return False
        await nap(wait)
        wait = min(wait * 2, poll_interval)
    return True


async def read_log_regions(
    job_dir: Path,
    *,
    follow: bool,
    is_done: Callable[[], bool],
    tail: int | None = None,
    start: int | None = None,
    poll_interval: float = 0.02,
    nap: Nap = asyncio.sleep,
) -> AsyncIterator[FileRegion]:
    """As :func:`read_log` without ``since``/``timestamps``, as file regions;
    from byte ``start`` when given (as :func:`log_start` found it), not ``tail``.

    The log only grows, so each region is final once yielded: a sender may
    pass it to ``sendfile`` instead of copying it through Python.
    """
    log = job_dir / LOG_NAME
    if not await _appeared(log, follow, is_done, poll_interval, nap):
        return
    pos = start if start is not None else 0 if tail is None else tail_offset(log, tail)
    wait, draining = _FIRST_WAIT, False
    while True:
        size = log.stat().st_size
        if size > pos:
            yield FileRegion(str(log), pos, size - pos)
            pos, wait = size, _FIRST_WAIT
            continue
        if not follow or draining:
            return
        # As in read_log: once is_done() is true the file holds all output.
        draining = is_done()
        if not draining:
            await nap(wait)
            wait = min(wait * 2, poll_interval)


async def read_log(
    job_dir: Path,
    *,
    follow: bool,
    is_done: Callable[[], bool],
    since: datetime | None = None,
    timestamps: bool = False,
    tail: int | None = None,
    poll_interval: float = 0.02,
    nap: Nap = asyncio.sleep,
) -> AsyncIterator[bytes]:
    """Yield a job's output as written, in chunks of up to :data:`READ_SIZE`.

    With ``follow``, waits for more output until ``is_done()`` says the job
    ended; what the file holds then is drained before returning. ``since``
    skips lines that began before it; ``tail`` starts at the last ``tail``
    lines (of those, with ``since``); ``timestamps`` prefixes every line.
    ``nap(seconds)`` waits between looks at the file (waits double from 2 ms
    up to ``poll_interval``); one that returns early on news reads sooner.
    """
    log = job_dir / LOG_NAME
    if not await _appeared(log, follow, is_done, poll_interval, nap):
        return
    wait = _FIRST_WAIT
    index = LogIndex(job_dir / INDEX_NAME)
    pos, skip_partial = (0, False) if since is None else _start_offset(log, index, since)
    if tail is not None:
        last = tail_offset(log, tail)
        if last > pos:
            pos, skip_partial = last, False
    stamper = _Stamper(index) if timestamps else None
    with open(log, "rb", buffering=0) as f:
        f.seek(pos)
        draining = False
        while True:
            data = f.read(READ_SIZE)
            if data:
                wait = _FIRST_WAIT
            else:
                if not follow or draining:
                    return
                # Decide before the next read: output written before the runner
                # recorded the end is all in the file once is_done() is true.
                draining = is_done()
                if not draining:
                    await nap(wait)
                    wait = min(wait * 2, poll_interval)
                continue
            base, pos = pos, pos + len(data)
            if skip_partial:
                # The line in progress at ``since`` began before it: skip it.
                cut = data.find(b"\n")
                if cut < 0:
                    continue
                skip_partial = False
                base, data = base + cut + 1, data[cut + 1 :]
            if stamper is not None:
                data = stamper.feed(data, base)
            if data:
                yield data
