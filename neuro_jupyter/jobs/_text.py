"""The one whitespace rule for every value a user types.

Surrounding whitespace (anything ``str.isspace`` calls space: blanks, tabs,
line breaks, no-break spaces) is not part of a value: ``" 1d"``, ``"1d\\n"`` and
``"1d"`` are the same life span, as in Neu.ro's client. Every rule of the job
domain that reads a word of a grammar (names, references, durations, times,
volumes, images, ports, tags, presets, memory sizes, policies, levels, statuses,
env names, paths) applies it first; free text is kept as written (a
description, a command, an env value).
"""

from __future__ import annotations

__all__ = ["stripped"]


def stripped(value: object) -> object:
    """``value`` without surrounding whitespace when it is a string; else ``value`` as is."""
    if isinstance(value, str):
        return value.strip()
    return value
