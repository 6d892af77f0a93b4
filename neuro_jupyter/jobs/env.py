"""Environment variables: ``-e VAR=VAL``, ``-e VAR``, ``--env-file`` and the spec's ``env``.

Names are what a job's environment can hold, as Neu.ro accepts them: any
printable ASCII characters but ``=`` and spaces, so ``A-B`` and ``A.B`` are
names as well as ``PATH`` (Kubernetes takes the same set from 1.32, where
RelaxedEnvironmentVariableValidation is on by default). Surrounding
whitespace of a name is ignored; values are strings without NUL, kept as
written. ``VAR=secret:KEY`` has no special meaning here (there are no platform
secrets): the value is the literal text.

An env file has ``VAR=VAL`` lines, ``export VAR=VAL`` as a shell would source
it, blank lines and ``#`` comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._quote import quote
from .errors import InvalidSpec

__all__ = [
    "format_env_file",
    "is_valid_env_name",
    "parse_env",
    "parse_env_file",
    "parse_env_item",
]

FIELD = "env"
_NAME_RE = re.compile(r"[!-<>-~]+")
_NAME_RULE = "use printable ASCII characters other than '=' and spaces"
_EXPORT_RE = re.compile(r"export\s+")


def is_valid_env_name(value: object) -> bool:
    """Whether ``value`` is a valid environment variable name."""
    return isinstance(value, str) and _NAME_RE.fullmatch(value) is not None


def _check_name(name: str, where: str = "") -> str:
    name = name.strip()
    if not _NAME_RE.fullmatch(name):
        raise InvalidSpec(FIELD, f"{where}env name {quote(name)} is invalid: {_NAME_RULE}")
    return name


def _check_value(name: str, value: object, where: str = "") -> str:
    if not isinstance(value, str):
        raise InvalidSpec(
            FIELD, f"{where}env {name}: the value must be a string, not {type(value).__name__}"
        )
    if "\0" in value:
        raise InvalidSpec(FIELD, f"{where}env {name}: the value contains a NUL character")
    return value


def parse_env_item(value: object, environ: Mapping[str, str] | None) -> tuple[str, str]:
    """Parse one ``-e`` item: ``VAR=VAL``, or ``VAR`` alone, which copies
    ``environ[VAR]`` (empty when unset).

    ``environ`` None means there is no environment to copy from (the server
    cannot see a client's): a bare ``VAR`` is then rejected.

    Raises:
        InvalidSpec: ``env``: a bad name, a NUL in the value, or a bare name
        with no environment.
    """
    if not isinstance(value, str):
        raise InvalidSpec(FIELD, f"env item must be a string, not {type(value).__name__}")
    name, sep, val = value.partition("=")
    name = _check_name(name)
    if not sep:
        if environ is None:
            raise InvalidSpec(
                FIELD,
                f"env item {quote(name)} has no value: write {name}=VALUE "
                "(a bare name copies the local environment, which is not available here)",
            )
        val = environ.get(name, "")
    return name, _check_value(name, val)


def parse_env_file(text: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Parse an env file: ``VAR=VAL`` or ``export VAR=VAL`` lines; blank lines
    and ``#`` lines are skipped, a leading UTF-8 BOM and leading whitespace are
    ignored, the value is kept as written up to the line end. A bare ``VAR``
    line copies from ``environ`` as in :func:`parse_env_item` (rejected when
    it is None).
    Later lines win.

    Raises:
        InvalidSpec: ``env``; the message names the line number.
    """
    env: dict[str, str] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        export = _EXPORT_RE.match(line)
        if export is not None:  # a name holds no space: "export A=1" is no name
            line = line[export.end() :]
        try:
            name, value = parse_env_item(line, environ)
        except InvalidSpec as error:
            raise InvalidSpec(FIELD, f"env file line {number}: {error.rule}") from None
        env[name] = value
    return env


def format_env_file(env: Mapping[str, str]) -> str:
    """Write ``env`` as env-file text; the inverse of :func:`parse_env_file`.

    Raises:
        ValueError: a value holds a line break, or a name starts with ``#``
        (a comment there), which an env file cannot carry.
    """
    lines = []
    for name, value in env.items():
        if name.startswith("#"):
            raise ValueError(f"env {name}: a name starting with '#' cannot go in an env file")
        if "\n" in value or "\r" in value:
            raise ValueError(f"env {name}: a value with a line break cannot go in an env file")
        lines.append(f"{name}={value}\n")
    return "".join(lines)


def parse_env(value: object) -> dict[str, str]:
    """Check the spec's ``env`` object: string names and string values.

    Raises:
        InvalidSpec: ``env``: not an object, a bad name, or a bad value.
    """
    if not isinstance(value, Mapping):
        raise InvalidSpec(FIELD, "env must be an object mapping names to string values")
    env: dict[str, str] = {}
    for name, val in value.items():
        if not isinstance(name, str):
            raise InvalidSpec(FIELD, f"env name must be a string, not {type(name).__name__}")
        env[_check_name(name)] = _check_value(name, val)
    return env


SECRET_FIELD = "secret_env"


def parse_secret_env(value: object, most: int, most_bytes: int) -> dict[str, str]:
    """Check a job's ``secret_env``: as ``env`` (an object of names to
    values), at most ``most`` variables and ``most_bytes`` bytes
    (``NAME=VALUE\\0`` each). None is none.

    It is never recorded: the credentials a notebook server run as a job
    needs reach its process only.

    Raises:
        InvalidSpec: ``secret_env``, naming the broken rule.
    """
    if value is None:
        return {}
    try:
        env = parse_env(value)
    except InvalidSpec as exc:
        raise InvalidSpec(SECRET_FIELD, f"secret_env: {exc.message}") from None
    size = sum(len(k.encode()) + len(v.encode()) + 2 for k, v in env.items())
    if len(env) > most or size > most_bytes:
        raise InvalidSpec(
            SECRET_FIELD,
            f"secret_env has {len(env)} variables and {size} bytes: "
            f"at most {most} and {most_bytes}",
        )
    return env
