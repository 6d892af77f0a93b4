"""Bounds on what one request may ask for, so one user cannot stall the server.

Pure: :class:`Limits` holds the numbers (``c.NeuroJobs.max_*`` traits fill
it); the checks here run *before* any per-item work, so an oversized request
is refused at the cost of counting it (issue 14). The numbers that the
operating system imposes are why the defaults are what they are:

- Linux passes a job's command and environment through ``execve``, which
  refuses one ``NAME=VALUE`` or argument over 128 KiB (``MAX_ARG_STRLEN``)
  and all of them over a quarter of the stack limit (2 MiB by default), the
  server's own environment included. A job accepted must be able to start.
- Strings are stored in the registry and handed to the OS as UTF-8: a lone
  surrogate (``"\\ud800"`` in JSON) has no UTF-8 form, and a NUL ends a C
  string, so neither is accepted anywhere in a request body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSpec

__all__ = [
    "Limits",
    "body_needs_check",
    "check_json_input",
    "check_spec_limits",
    "encoded_size",
    "env_size",
]

_BAD_CHARACTER = re.compile("[\0\ud800-\udfff]")
# In JSON text a NUL or a surrogate can only be written as an escape (a raw
# NUL is not valid JSON, a raw surrogate not valid UTF-8).
_BAD_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


@dataclass(frozen=True)
class Limits:
    """The largest request of each kind the server accepts.

    Attributes:
        body_size: bytes of a request body (HTTP 413 beyond).
        json_depth: nesting of arrays and objects in a body (a job spec needs 3).
        command_length: UTF-8 bytes of a job's command.
        env_entries: variables in a job's ``env``.
        env_size: UTF-8 bytes of a job's ``env``, counted as ``NAME=VALUE\\0``.
        volumes: volumes of one job.
        tags: tags of one job (Neu.ro: 16).
        shares: users in one request's ``share``.
        page_size: jobs in one ``GET jobs`` answer (the cap on ``limit``).
        page_bytes: bytes of one ``GET jobs`` answer; past them the page ends
            early (``next`` goes on), as large jobs would make a page of
            ``page_size`` tens of megabytes.
    """

    body_size: int = 1 << 20
    json_depth: int = 16
    command_length: int = 1 << 16
    env_entries: int = 256
    env_size: int = 1 << 16
    volumes: int = 64
    tags: int = 16
    shares: int = 64
    page_size: int = 100
    page_bytes: int = 4 << 20


def encoded_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts as 3, never raises)."""
    return len(text.encode("utf-8", "surrogatepass"))


def env_size(env: Mapping[str, str]) -> int:
    """Bytes ``env`` takes in a process's environment block (``NAME=VALUE\\0`` each)."""
    return sum(encoded_size(name) + encoded_size(value) + 2 for name, value in env.items())


def _bad_string(text: str) -> str | None:
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return None
    if match.group() == "\0":
        return "contains a NUL character"
    return f"contains a lone surrogate (U+{ord(match.group()):04X}), which has no UTF-8 form"


def body_needs_check(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``body`` could break :func:`check_json_input`'s rules.

    A search of the bytes, so that the walk is spent only on bodies with an
    escaped NUL or surrogate, or more brackets than ``max_depth`` (a list of
    50,000 names costs 14 ms to walk, its bytes 0.1 ms to search).
    """
    if body.count(b"[") + body.count(b"{") > max_depth:
        return True
    return _BAD_ESCAPE.search(body) is not None


def check_json_input(value: Any, max_depth: int) -> None:
    """Refuse a decoded JSON body nested deeper than ``max_depth`` or holding a
    string (value or key) that the registry and the OS cannot take.

    Walks without recursion, so any depth the decoder produced is safe.

    Raises:
        InvalidSpec: ``body`` for the depth; for a bad string, the top-level
            key it sits under (``body`` when the body is not an object).
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, "body")]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            why = _bad_string(item)
            if why:
                raise InvalidSpec(field, f"{field} {why}")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > max_depth:
            raise InvalidSpec("body", f"the request body is nested deeper than {max_depth} levels")
        if isinstance(item, list):
            stack.extend((child, depth + 1, field) for child in item)
            continue
        for key, child in item.items():
            name = key if depth == 1 else field
            why = _bad_string(key)
            if why:
                raise InvalidSpec(name if depth > 1 else "body", f"a field name {why}")
            stack.append((child, depth + 1, name))


def _count(data: Mapping[str, Any], key: str, most: int, what: str) -> None:
    value = data.get(key)
    if isinstance(value, (list, tuple, Mapping)) and len(value) > most:
        raise InvalidSpec(key, f"{len(value)} {what} given: at most {most} (a server limit)")


def check_spec_limits(data: Mapping[str, Any], limits: Limits) -> None:
    """Refuse a job spec over the server's limits, before its items are parsed.

    Only sizes are checked here; the fields' own rules come after.

    Raises:
        InvalidSpec: ``share``, ``volumes``, ``tags``, ``env`` or ``command``,
            naming the limit.
    """
    _count(data, "share", limits.shares, "users to share with")
    _count(data, "volumes", limits.volumes, "volumes")
    _count(data, "tags", limits.tags, "tags")
    _count(data, "env", limits.env_entries, "environment variables")
    env = data.get("env")
    if isinstance(env, Mapping):
        size = env_size({str(k): v for k, v in env.items() if isinstance(v, str)})
    elif isinstance(env, (list, tuple)):
        size = sum(encoded_size(item) + 1 for item in env if isinstance(item, str))
    else:
        size = 0
    if size > limits.env_size:
        raise InvalidSpec(
            "env",
            f"env takes {size} bytes: at most {limits.env_size} "
            "(counted as NAME=VALUE plus a NUL each; a server limit)",
        )
    command = data.get("command")
    if isinstance(command, str):
        length = encoded_size(command)
    elif isinstance(command, (list, tuple)):
        length = sum(encoded_size(arg) + 1 for arg in command if isinstance(arg, str))
    else:
        length = 0
    if length > limits.command_length:
        raise InvalidSpec(
            "command",
            f"command has {length} bytes: at most {limits.command_length} (a server limit)",
        )
