"""A bounded, terminal-like line buffer for a job's output.

Pure (no widgets, no I/O): :class:`LogBuffer` takes text as it comes, collapses
``\\r`` as a notebook shows it (:func:`~neuro_jupyter.render.terminal.compact_carriage_returns`)
and keeps only the last lines and characters, so a job printing a gigabyte
costs the kernel and the browser a fixed amount.
"""

from __future__ import annotations

from collections import deque

from ..render.terminal import compact_carriage_returns

__all__ = ["LogBuffer"]


class LogBuffer:
    """The visible tail of a stream of text.

    ``max_lines`` finished lines and at most ``max_chars`` characters are kept
    (the line being written counts too, and is cut to its last ``max_chars``).
    :attr:`dropped` counts the finished lines let go.
    """

    def __init__(self, max_lines: int = 1000, max_chars: int = 200_000) -> None:
        if max_lines < 1 or max_chars < 1:
            raise ValueError("a log buffer keeps at least one line and one character")
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._lines: deque[str] = deque()
        self._chars = 0
        # The unfinished last line, with the "\r" markers compaction leaves:
        # a trailing "\r" means the next text overwrites it.
        self._current = ""
        #: Finished lines no longer kept.
        self.dropped = 0

    def feed(self, text: str) -> None:
        """Add ``text`` (any piece of the stream: a line may span many pieces)."""
        if not text:
            return
        *finished, current = compact_carriage_returns(self._current + text).split("\n")
        for line in finished[-self.max_lines :]:
            self._append(line.strip("\r"))
        self.dropped += max(len(finished) - self.max_lines, 0)
        if len(current) > self.max_chars:
            current = current[-self.max_chars :]
        self._current = current
        self._trim()

    def _append(self, line: str) -> None:
        self._lines.append(line)
        self._chars += len(line) + 1

    def _trim(self) -> None:
        budget = self.max_chars - len(self._current)
        while self._lines and (len(self._lines) > self.max_lines or self._chars > budget):
            self._chars -= len(self._lines.popleft()) + 1
            self.dropped += 1

    @property
    def text(self) -> str:
        """What a terminal would show of the kept tail: lines, then the unfinished one."""
        return "".join(line + "\n" for line in self._lines) + self._current.strip("\r")

    def __len__(self) -> int:
        """The number of characters :attr:`text` has."""
        return self._chars + len(self._current.strip("\r"))
