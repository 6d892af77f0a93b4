"""Option values, checked by the domain's own rules before any HTTP.

Each function is an argparse ``type``: it returns the checked value or raises
``ArgumentTypeError`` whose message is the rule, so a bad value is a usage
error such as ``argument -n/--name: job name 'Bad' is invalid: use 3-40 ...``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from ..jobs.errors import InvalidSpec
from ..jobs.model import JobStatus
from ..jobs.parse import (
    localize_time,
    parse_description,
    parse_duration,
    parse_env_file,
    parse_env_item,
    parse_grantee,
    parse_http_port,
    parse_image,
    parse_job_name,
    parse_job_ref,
    parse_life_span,
    parse_permission,
    parse_port,
    parse_restart,
    parse_since,
    parse_tag,
    parse_user,
    parse_volume,
    parse_workdir,
)
from ..jobs.presets import parse_preset_name
from ..render.ps import parse_ps_format

__all__ = [
    "description",
    "duration",
    "env_file",
    "env_item",
    "grantee",
    "http_port",
    "image",
    "job_name",
    "job_ref",
    "life_span",
    "owner",
    "permission",
    "port",
    "preset",
    "ps_format",
    "restart",
    "since",
    "status",
    "tag",
    "timeout",
    "user",
    "volume",
    "workdir",
]

T = TypeVar("T")


def _checked(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """An argparse type from a domain parser: its ``InvalidSpec`` rule becomes the message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InvalidSpec as error:
            raise argparse.ArgumentTypeError(error.rule) from None

    convert.__name__ = name
    return convert


def _keep(check: Callable[[str], object]) -> Callable[[str], str]:
    """Check ``text`` with ``check`` and keep the text itself."""

    def keep(text: str) -> str:
        check(text)
        return text

    return keep


job_name = _checked(parse_job_name, "job_name")
job_ref = _checked(lambda text: str(parse_job_ref(text, "job")), "job_ref")
image = _checked(parse_image, "image")
preset = _checked(parse_preset_name, "preset")
tag = _checked(parse_tag, "tag")
description = _checked(parse_description, "description")
volume = _checked(_keep(parse_volume), "volume")
workdir = _checked(parse_workdir, "workdir")
port = _checked(parse_port, "port")
life_span = _checked(_keep(parse_life_span), "life_span")
duration = _checked(_keep(lambda text: parse_duration(text, "life_span")), "duration")
restart = _checked(lambda text: parse_restart(text).value, "restart")
permission = _checked(lambda text: parse_permission(text).name.lower(), "permission")
user = _checked(lambda text: parse_user(text, "user"), "user")
grantee = _checked(lambda text: parse_grantee(text, "user"), "grantee")
"""Whom a job is shared with: a user name, or ``group:NAME`` for a hub group."""
http_port = _checked(parse_http_port, "http_port")
ps_format = _checked(_keep(parse_ps_format), "ps_format")


def since(text: str) -> str | None:
    """A ``--since``/``--until`` time for the server: a duration ago is kept
    (``1d2h``); an ISO time is read as this machine's local time when it has no
    zone (as Neu.ro's client reads it) and sent as UTC; empty is None (no filter).
    """
    try:
        moment = parse_since(text, datetime.now(timezone.utc), zone=None)
    except InvalidSpec as error:
        raise argparse.ArgumentTypeError(error.rule) from None
    return None if moment is None else localize_time(text)


def env_item(text: str) -> tuple[str, str]:
    """``VAR=VAL``, or ``VAR`` copied from the local environment (empty when unset)."""
    try:
        return parse_env_item(text, os.environ)
    except InvalidSpec as error:
        raise argparse.ArgumentTypeError(error.rule) from None


def env_file(text: str) -> dict[str, str]:
    """Read an env file: ``VAR=VAL`` lines, ``#`` comments and blank lines skipped."""
    try:
        content = Path(text).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise argparse.ArgumentTypeError(f"cannot read env file {text!r}: {reason}") from None
    try:
        return parse_env_file(content, os.environ)
    except InvalidSpec as error:
        raise argparse.ArgumentTypeError(f"{text}: {error.rule}") from None


def status(text: str) -> str:
    """A job status name: pending, running, succeeded, failed or cancelled."""
    try:
        return JobStatus.from_name(text.lower()).value
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def owner(text: str) -> str:
    """A user name, or ``ME`` for the current user (kept as ``ME``)."""
    return "ME" if text.strip() == "ME" else user(text)


def timeout(text: str) -> float:
    """Seconds, 0 or more (``0`` = no limit)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"timeout {text!r} is invalid: use seconds, 0 or more")
    return value
