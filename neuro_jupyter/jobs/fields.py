"""Small job-spec rules: tags, description, command, workdir, HTTP port,
restart policy and sharing level.
"""

from __future__ import annotations

import shlex
import unicodedata
from collections.abc import Iterable, Mapping

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec
from .model import Permission, RestartPolicy
from .words import split_words

__all__ = [
    "DESCRIPTION_MAX",
    "PATH_MAX",
    "TAGS_MAX",
    "TAG_MAX",
    "command_argv",
    "parse_command",
    "parse_description",
    "parse_http_port",
    "parse_permission",
    "parse_port",
    "parse_restart",
    "parse_tag",
    "parse_tags",
    "parse_workdir",
]

TAG_MAX = 256
TAGS_MAX = 16
DESCRIPTION_MAX = 4096
PATH_MAX = 4096


def _type_error(field: str, what: str, value: object) -> InvalidSpec:
    return InvalidSpec(field, f"{what}, not {type(value).__name__}")


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")


def parse_tag(value: object) -> str:
    """Check one tag: 1-256 characters, no whitespace or control characters.

    Raises:
        InvalidSpec: ``tags``, naming the rule.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise _type_error("tags", "a tag must be a string", value)
    if not 1 <= len(value) <= TAG_MAX:
        raise InvalidSpec("tags", f"tag {quote(value)} is invalid: use 1-{TAG_MAX} characters")
    if any(char.isspace() or _is_control(char) for char in value):
        raise InvalidSpec(
            "tags", f"tag {quote(value)} is invalid: no whitespace or control characters"
        )
    return value


def parse_tags(values: object, most: int = TAGS_MAX) -> tuple[str, ...]:
    """Check a list of tags; return them deduplicated and sorted, at most ``most``
    (Neu.ro's 16 by default).

    Raises:
        InvalidSpec: ``tags``: not a list, a bad tag, or more than ``most`` distinct tags.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise InvalidSpec("tags", "tags must be a list of strings")
    tags = tuple(sorted({parse_tag(value) for value in values}))
    if len(tags) > most:
        raise InvalidSpec("tags", f"{len(tags)} tags given: a job has at most {most}")
    return tags


def parse_description(value: object) -> str:
    """Check a description: any text up to 4096 characters, no NUL.

    Raises:
        InvalidSpec: ``description``.
    """
    if not isinstance(value, str):
        raise _type_error("description", "description must be a string", value)
    if len(value) > DESCRIPTION_MAX:
        raise InvalidSpec(
            "description",
            f"description has {len(value)} characters: at most {DESCRIPTION_MAX}",
        )
    if "\0" in value:
        raise InvalidSpec("description", "description contains a NUL character")
    return value


def command_argv(command: str) -> list[str]:
    """Split a command string the way the job will run it (``shlex.split``).

    Raises:
        InvalidSpec: ``command``: unbalanced quotes or a trailing backslash.
    """
    try:
        return split_words(command)
    except ValueError as error:
        raise InvalidSpec(
            "command", f"command {quote(command)} cannot be split into words: {error}"
        ) from None


def parse_command(value: object) -> str:
    """The command as one string: a string is kept, a list of strings is joined
    with ``shlex.join``. ``""`` or ``[]`` means the image's default command.

    Raises:
        InvalidSpec: ``command``: another type, a NUL, or bad quoting.
    """
    if isinstance(value, str):
        command = value
    elif isinstance(value, (list, tuple)) and all(isinstance(arg, str) for arg in value):
        command = shlex.join(value)
    else:
        raise _type_error("command", "command must be a string or a list of strings", value)
    if "\0" in command:
        raise InvalidSpec("command", "command contains a NUL character")
    command_argv(command)
    return command


def parse_workdir(value: object) -> str:
    """Check a working directory: an absolute path without ``..``; returned
    without surrounding whitespace.

    Raises:
        InvalidSpec: ``workdir``.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise _type_error("workdir", "workdir must be a string", value)
    if len(value) > PATH_MAX:
        raise InvalidSpec("workdir", f"workdir is longer than {PATH_MAX} characters (PATH_MAX)")
    if not value.startswith("/"):
        raise InvalidSpec(
            "workdir", f"workdir {quote(value)} is invalid: it must be absolute (start with '/')"
        )
    if ".." in value.split("/"):
        raise InvalidSpec("workdir", f"workdir {quote(value)} is invalid: it contains '..'")
    if any(_is_control(char) for char in value):
        raise InvalidSpec(
            "workdir", f"workdir {quote(value)} is invalid: it contains a control character"
        )
    return value


def parse_port(value: object, field: str = "http.port") -> int:
    """An HTTP port, 1-65535, as an int or a string of digits (``bool`` is not a port).

    Raises:
        InvalidSpec: ``http.port``.
    """
    value = stripped(value)
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 6):
            raise InvalidSpec(
                field, f"port {quote(value)} is invalid: use a whole number from 1 to 65535"
            )
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(field, "port must be a whole number from 1 to 65535", value)
    if not 1 <= value <= 65535:
        raise InvalidSpec(field, f"port {value} is invalid: use a number from 1 to 65535")
    return value


def parse_http_port(value: object, field: str = "http.port") -> int | None:
    """``--http-port``: a port as :func:`parse_port`, or ``0``, which means no
    HTTP port (None), as in Neu.ro.

    Raises:
        InvalidSpec: ``http.port``.
    """
    value = stripped(value)
    if value == "0" or (type(value) is int and value == 0):
        return None
    return parse_port(value, field)


def parse_restart(value: object) -> RestartPolicy:
    """A restart policy: ``never``, ``on-failure`` or ``always``.

    Raises:
        InvalidSpec: ``restart``, listing the choices.
    """
    value = stripped(value)
    if isinstance(value, RestartPolicy):
        return value
    choices = ", ".join(policy.value for policy in RestartPolicy)
    if isinstance(value, str):
        for policy in RestartPolicy:
            if policy.value == value:
                return policy
        raise InvalidSpec("restart", f"restart policy {quote(value)} is unknown: use {choices}")
    raise _type_error("restart", f"restart must be one of {choices}", value)


def parse_permission(value: object) -> Permission:
    """A sharing level: ``read``, ``write`` or ``manage`` (any case).

    Raises:
        InvalidSpec: ``level``, listing the choices.
    """
    value = stripped(value)
    if isinstance(value, Permission):
        return value
    if isinstance(value, str):
        try:
            return Permission.from_name(value)
        except ValueError:
            raise InvalidSpec(
                "level", f"permission {quote(value)} is unknown: use read, write or manage"
            ) from None
    raise _type_error("level", "permission must be read, write or manage", value)
