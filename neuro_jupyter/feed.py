"""JobFeed: every job change, in order, for the ``GET events`` stream (issue 12).

:class:`~neuro_jupyter.service.JobService` publishes each change it records
(a new job, a status, a bumped life span, a new grant); each subscriber reads
the changes after its own position. Publishing never waits for a reader: the
feed keeps the last :data:`FEED_SIZE` changes in a ring, and a reader that
falls further behind (a slow client) or asks to resume from a position the
ring no longer holds (or one of another server run) gets a :data:`RESET`
instead: "list again", as a Kubernetes watch answers 410 Gone.

Positions are ``{epoch}-{seq}``: ``seq`` counts changes in this process,
``epoch`` tells this process from an earlier one, so a ``Last-Event-ID`` kept
across a server restart is never taken for a position in this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .jobs.model import Job, JobStatus

__all__ = ["FEED_SIZE", "RESET", "JobChange", "JobFeed", "Reset"]

FEED_SIZE = 1024
"""Changes kept for resuming readers and readers that fall behind."""


@dataclass(frozen=True)
class JobChange:
    """One recorded change: the job as now stored, and its status before
    (None for a job just created)."""

    seq: int
    job: Job
    previous: JobStatus | None


class Reset:
    """What a reader gets when changes it should have seen are gone."""

    def __repr__(self) -> str:
        return "RESET"


RESET = Reset()


class JobFeed:
    """An in-memory, ordered, bounded log of job changes with many readers."""

    def __init__(self, size: int = FEED_SIZE) -> None:
        self.epoch = secrets.token_hex(4)
        self._seq = 0
        self._changes: deque[JobChange] = deque(maxlen=size)
        # Set on every change, then replaced: readers take the current one
        # before they look, so no change slips between look and wait.
        self._news = asyncio.Event()
        self._closed = False
        self._readers = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def readers(self) -> int:
        """Readers following the feed now."""
        return self._readers

    def publish(self, job: Job, previous: JobStatus | None) -> JobChange:
        """Record a change (never waits); the change."""
        self._seq += 1
        change = JobChange(self._seq, job, previous)
        self._changes.append(change)
        self._news.set()
        self._news = asyncio.Event()
        return change

    def event_id(self, change: JobChange) -> str:
        """The change's position as ``Last-Event-ID`` gives it back."""
        return f"{self.epoch}-{change.seq}"

    def position(self, last_event_id: str | None) -> int | None:
        """The seq to read after for a reader resuming from ``last_event_id``.

        No id: from now on. None: the changes after that id are gone (another
        run's id, one older than the ring, one never given, or garbage), so
        the reader must list again.
        """
        if last_event_id is None or not last_event_id.strip():
            return self._seq
        epoch, _, seq = last_event_id.strip().partition("-")
        if epoch != self.epoch or not (seq.isascii() and seq.isdigit()) or len(seq) > 18:
            return None
        after = int(seq)
        oldest = self._changes[0].seq if self._changes else self._seq + 1
        if after > self._seq or after < oldest - 1:
            return None
        return after

    async def follow(
        self, after: int | None, *, wait: bool = True
    ) -> AsyncIterator[JobChange | Reset]:
        """The changes after seq ``after``, in order; :data:`RESET` first when
        ``after`` is None and whenever this reader fell behind the ring.

        With ``wait``, waits for more until :meth:`close`; else ends once
        caught up.
        """
        self._readers += 1
        self._idle.clear()
        try:
            if after is None:
                yield RESET
                after = self._seq
            while True:
                news = self._news
                if self._changes and self._changes[0].seq > after + 1:
                    yield RESET  # fell behind: what it missed is gone
                    after = self._changes[0].seq - 1
                for change in [c for c in self._changes if c.seq > after]:
                    after = change.seq
                    yield change
                    if self._changes and self._changes[0].seq > after + 1:
                        break  # fell behind while this one was written
                else:
                    if self._closed or not wait:
                        return
                    await news.wait()
        finally:
            self._readers -= 1
            if self._readers == 0:
                self._idle.set()

    async def close(self, grace: float = 2.0) -> None:
        """End every reader's stream, and wait up to ``grace`` seconds for
        them to finish writing (a clean end on server stop)."""
        self._closed = True
        self._news.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
