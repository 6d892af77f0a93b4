"""Schemathesis hooks for the fuzzing test: generated jobs run ``true``, once;
event streams end once caught up.

Loaded through ``SCHEMATHESIS_HOOKS``. Only the command and the restart
policy change, and only where the generated values are of the right type, so
a case stays as valid or as invalid as it was generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis

HARMLESS = "true"
SHORT = 1000  # a longer command is rejected by no rule here; leave it alone


def _harmless(command: Any) -> Any:
    if isinstance(command, str) and 0 < len(command) <= SHORT:
        return HARMLESS
    if (
        isinstance(command, list)
        and command
        and all(isinstance(arg, str) for arg in command)
        and sum(map(len, command)) <= SHORT
    ):
        return [HARMLESS]
    return command


_FLAGS = frozenset({"1", "true", "yes", "on", "0", "false", "no", "off", ""})


def _caught_up(case: Any) -> None:
    """``GET events`` streams until the server stops: ask for ``follow=false``
    (the changes after ``Last-Event-ID``, then the end), unless the case's
    ``follow`` is a value the server refuses (a negative case stays one)."""
    query = case.query if isinstance(case.query, dict) else {}
    follow = query.get("follow")
    values = follow if isinstance(follow, list) else [follow]
    if follow is None or all(str(v).strip().lower() in _FLAGS for v in values):
        query["follow"] = "false"
        case.query = query


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Make POST jobs harmless: command ``true``, never restarted; end event streams."""
    if case.method.upper() == "GET" and case.path == "/events":
        _caught_up(case)
    if case.method.upper() == "POST" and case.path == "/jobs" and isinstance(case.body, dict):
        if "command" in case.body:
            case.body["command"] = _harmless(case.body["command"])
        if case.body.get("restart") in ("always", "on-failure"):
            case.body["restart"] = "never"
    return case
