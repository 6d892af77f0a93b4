"""SQLite WAL checkpoints in a thread of their own (issue 14).

SQLite copies its write-ahead log back into the database (a *checkpoint*)
inside whichever commit pushes the log past ``wal_autocheckpoint`` pages:
every ~28 of the largest jobs, one commit took ~100 ms more, on the event
loop when the commit ran there. Engines made by :func:`.schema.make_engine`
turn that off (``wal_autocheckpoint=0``) and a :class:`WalCheckpointer`
checkpoints instead, after writes, at most every :attr:`~WalCheckpointer.every`
seconds. PASSIVE checkpoints wait for no reader and no writer; what readers
still need stays in the log for the next one.
"""

from __future__ import annotations

import logging
import threading
import weakref

import sqlalchemy as sa

__all__ = ["WalCheckpointer"]

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Checkpoints ``engine``'s SQLite WAL in a daemon thread after writes.

    Args:
        engine: a SQLite engine on a file in WAL mode.
        every: seconds at least between two checkpoints: writes in between
            are copied by one.
    """

    def __init__(self, engine: sa.Engine, every: float = 0.25) -> None:
        self._engine = engine
        self.every = every
        self.checkpoints = 0
        """Checkpoints run so far (tests wait on it)."""
        self.last: tuple[int, int, int] | None = None
        """The last checkpoint's answer: (busy, frames in the log, frames copied)."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wrote(self) -> None:
        """A write was committed: checkpoint soon (starts the thread once)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopped:
                    # The thread holds no reference to this object: a store
                    # dropped without close() is still collected (the thread
                    # then ends within IDLE seconds).
                    args = (weakref.ref(self), self._wake, self._stop)
                    self._thread = threading.Thread(
                        target=_checkpoint_loop, args=args, name="neuro-wal-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    @property
    def running(self) -> bool:
        """Whether its thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Checkpoint what is left and end the thread (idempotent)."""
        with self._lock:
            self._stopped = True
        self._stop.set()  # cuts a pause between checkpoints short
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy the log into the database now, as far as readers allow."""
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                busy, frames, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        self.last = (busy, frames, copied)
        self.checkpoints += 1
        return self.last


IDLE = 60.0
"""Seconds a checkpoint thread waits for a write before it checks that its store is alive."""


def _checkpoint_loop(
    ref: weakref.ref[WalCheckpointer], wake: threading.Event, stop: threading.Event
) -> None:
    while True:
        woken = wake.wait(IDLE)
        checkpointer = ref()
        if checkpointer is None:
            return
        if not woken:
            continue
        wake.clear()
        try:
            checkpointer.checkpoint()
        except Exception:
            log.exception("WAL checkpoint failed; trying again after the next write")
        every = checkpointer.every
        del checkpointer
        if stop.is_set():
            return
        stop.wait(every)
