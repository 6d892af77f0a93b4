"""What a terminal (or a notebook's output area) shows of text with ``\\r`` in it.

Pure: shared by the magics, which stream output into a cell, and the
widgets, which keep a bounded log of it.
"""

from __future__ import annotations

__all__ = ["compact_carriage_returns"]


def compact_carriage_returns(text: str) -> str:
    """``text`` as a notebook shows it, with overwritten line content dropped.

    A front end redraws a line after ``\\r``; sending only what stays visible
    keeps a job printing a progress bar from filling the notebook with every
    frame. A line that ends in ``\\r`` keeps it, so the next chunk overwrites it.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "\r" in line:
            parts = line.split("\r")
            visible = next((part for part in reversed(parts) if part), "")
            lines[i] = "\r" + visible + ("\r" if parts[-1] == "" else "")
    return "\n".join(lines)
