"""``exec [-t] JOB -- CMD...``: run a command inside a running job.

In a terminal, standard input is forwarded (raw, with the window size, when
``--tty``); in a notebook the command gets no input. With ``--tty`` in a
terminal, each resize of the window (``SIGWINCH``) sends the new size, as
``neuro exec`` does, so full-screen programs redraw right. The exit code is
the command's own.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from ..client import ExecSession
from .context import Context, Result

__all__ = ["ExecCommand"]


@dataclass(frozen=True)
class ExecCommand:
    """``exec``: ``command`` runs in ``job``; ``tty`` asks for a terminal."""

    job: str
    command: tuple[str, ...]
    tty: bool = False

    def execute(self, ctx: Context) -> Result:
        """Run the command, streaming its output; exits with its exit code."""
        session = ctx.client.exec(self.job, list(self.command), tty=self.tty)
        with session, _raw_terminal(ctx.stdin if self.tty else None):
            if self.tty:
                rows, cols = _window_size(ctx.stdin)
                session.resize(rows, cols)
            with _following_resizes(ctx.stdin if self.tty else None, session.resize):
                return self._attach(ctx, session)

    def _attach(self, ctx: Context, session: ExecSession) -> Result:
        """Feed the command its input and copy its output; its exit code."""
        if ctx.stdin is None:
            session.close_stdin()
        else:
            _forward_input(ctx.stdin, session)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            for chunk in session.output():
                text = decoder.decode(chunk)
                if text:
                    ctx.out.write(text)
        except KeyboardInterrupt:
            ctx.out.write("\n")
            return Result(130, None)
        code = session.exit_code
        return Result(0 if code is None else code, code)


def _window_size(stdin: IO[bytes] | None) -> tuple[int, int]:
    """Rows and columns of the terminal on ``stdin``, else as ``shutil`` guesses them."""
    try:
        if stdin is not None and stdin.isatty():
            size = os.get_terminal_size(stdin.fileno())
            return size.lines, size.columns
    except (OSError, ValueError):
        pass
    size = shutil.get_terminal_size()
    return size.lines, size.columns


@contextlib.contextmanager
def _following_resizes(
    stdin: IO[bytes] | None, resize: Callable[[int, int], None]
) -> Iterator[None]:
    """While inside, send each new size of the terminal on ``stdin`` to ``resize``.

    The ``SIGWINCH`` handler only wakes a sender thread: it may interrupt the
    main thread inside a send, so it must not send itself. Outside a terminal,
    or off the main thread (where signals cannot be caught), nothing is followed.
    """
    if stdin is None or not stdin.isatty() or not hasattr(signal, "SIGWINCH"):
        yield
        return
    changed = threading.Event()
    done = threading.Event()

    def send_sizes() -> None:
        while True:
            changed.wait()
            changed.clear()
            if done.is_set():
                return
            try:
                resize(*_window_size(stdin))
            except Exception:  # the command ended and the socket closed: no one to tell
                return

    try:
        previous = signal.signal(signal.SIGWINCH, lambda signum, frame: changed.set())
    except ValueError:  # not the main thread
        yield
        return
    sender = threading.Thread(target=send_sizes, name="neuro-exec-resize", daemon=True)
    sender.start()
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
        done.set()
        changed.set()


def _forward_input(stdin: IO[bytes], session: ExecSession) -> None:
    """Copy ``stdin`` to the command in a daemon thread; its end closes the input."""

    def pump() -> None:
        try:
            fd = stdin.fileno()
            while data := os.read(fd, 65536):
                session.send(data)
            session.close_stdin()
        except Exception:  # the command ended and the socket closed: nothing to feed
            return

    threading.Thread(target=pump, name="neuro-exec-stdin", daemon=True).start()


@contextlib.contextmanager
def _raw_terminal(stdin: IO[bytes] | None) -> Iterator[None]:
    """Put a terminal ``stdin`` in raw mode for a TTY command, and restore it after."""
    if stdin is None or not stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
