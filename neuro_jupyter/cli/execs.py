"""``exec [-t] JOB -- CMD...``: run a command inside a running job.

In a terminal, standard input is forwarded (raw, with the window size, when
``--tty``); in a notebook the command gets no input. The exit code is the
command's own.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
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
                size = shutil.get_terminal_size()
                session.resize(size.lines, size.columns)
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
