"""The user's client settings: ``~/.neuro/user.toml``, as Neu.ro reads it.

Only the ``[job]`` section is honoured (DESIGN.md §7)::

    [job]
    life-span = "2d3h20m"                         # default of ``run --life-span``
    ps-format = "id name status when image"       # default of ``ps --format``

``NEURO_CONFIG`` names another folder holding ``user.toml`` (as the Neu.ro CLI's
``--config-path``). A missing file means the built-in defaults; unknown keys
and bad TOML are errors that name the file and the problem, as in Neu.ro.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from .jobs.errors import InvalidSpec, NeuroError
from .jobs.parse import parse_life_span
from .render.ps import parse_ps_format

__all__ = ["UserConfig", "UserConfigError", "default_path", "load_user_config"]

_JOB_KEYS = ("life-span", "ps-format")


class UserConfigError(NeuroError):
    """``user.toml`` cannot be used: bad TOML, an unknown key, or a bad value."""


@dataclass(frozen=True)
class UserConfig:
    """The settings read from ``user.toml``; None means "not set"."""

    life_span: str | None = None
    """``[job] life-span``: the default ``run --life-span`` (checked grammar)."""
    ps_format: str | None = None
    """``[job] ps-format``: the default ``ps --format`` (checked by the renderer)."""
    path: Path | None = None
    """The file these settings came from, when there was one."""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``user.toml`` is looked for: ``$NEURO_CONFIG/user.toml``, else
    ``~/.neuro/user.toml``."""
    env = os.environ if environ is None else environ
    folder = env.get("NEURO_CONFIG")
    base = Path(folder).expanduser() if folder else Path("~/.neuro").expanduser()
    return base / "user.toml"


def load_user_config(path: Path | None = None) -> UserConfig:
    """Read ``path`` (default :func:`default_path`); a missing file gives defaults.

    Raises:
        UserConfigError: unreadable file, bad TOML, an unknown section or key,
        or a value of the wrong type or grammar; the message names the file.
    """
    path = default_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserConfig()
    except (OSError, UnicodeDecodeError) as error:
        raise UserConfigError(f"{path}: cannot be read: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserConfigError(f"{path}: is not valid TOML: {error}") from None
    return _from_data(path, data)


def _from_data(path: Path, data: Mapping[str, Any]) -> UserConfig:
    """Check the parsed TOML: ``[job]`` only, with its known keys."""
    for section in data:
        if section != "job":
            raise UserConfigError(
                f"{path}: unknown section [{section}]: neuro-jupyter reads only [job]"
            )
    job = data.get("job", {})
    if not isinstance(job, Mapping):
        raise UserConfigError(f"{path}: 'job' must be a table ([job])")
    for key in job:
        if key not in _JOB_KEYS:
            raise UserConfigError(
                f"{path}: unknown key '{key}' in [job]: use {' or '.join(_JOB_KEYS)}"
            )
    life_span = _string(path, job, "life-span")
    if life_span is not None:
        try:
            parse_life_span(life_span)
        except InvalidSpec as error:
            raise UserConfigError(f"{path}: [job] life-span: {error.rule}") from None
    ps_format = _string(path, job, "ps-format")
    if ps_format is not None:
        try:
            parse_ps_format(ps_format)
        except InvalidSpec as error:
            raise UserConfigError(f"{path}: [job] ps-format: {error.rule}") from None
    return UserConfig(life_span=life_span, ps_format=ps_format, path=path)


def _string(path: Path, job: Mapping[str, Any], key: str) -> str | None:
    value = job.get(key)
    if value is not None and not isinstance(value, str):
        raise UserConfigError(f"{path}: [job] {key} must be a string, not {type(value).__name__}")
    return value
