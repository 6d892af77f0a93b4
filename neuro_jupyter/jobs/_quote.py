"""How rule messages show the user's input: quoted, and cut when long."""

from __future__ import annotations

__all__ = ["quote"]

_LIMIT = 80


def quote(value: str, limit: int = _LIMIT) -> str:
    """``value`` as a Python string literal, shortened with ``...`` past ``limit``."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)
