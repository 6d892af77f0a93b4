"""The REST job spec: :func:`parse_job_spec` checks it field by field.

``{"image", "command", "preset", "name", "tags", "description", "volumes",
"env", "workdir", "http": {"port", "auth", "keep_prefix"}, "life_span",
"restart", "share"}``; only ``image`` is required and ``null`` means "the
default" for every other field. The field descriptions that forms are built
from live in :mod:`neuro_jupyter.jobs.spec_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._quote import quote
from .durations import parse_life_span
from .env import parse_env, parse_env_item
from .errors import InvalidSpec
from .fields import (
    TAGS_MAX,
    parse_command,
    parse_description,
    parse_http_port,
    parse_restart,
    parse_tags,
    parse_workdir,
)
from .images import parse_image
from .limits import Limits, check_spec_limits
from .model import HttpSpec, JobSpec, RestartPolicy
from .names import parse_grantee, parse_job_name
from .presets import parse_preset_name
from .volumes import parse_volumes

__all__ = ["SPEC_KEYS", "parse_env_value", "parse_http", "parse_job_spec", "parse_share"]

SPEC_KEYS = (
    "image",
    "command",
    "preset",
    "name",
    "tags",
    "description",
    "volumes",
    "env",
    "workdir",
    "http",
    "life_span",
    "restart",
    "share",
)
_HTTP_KEYS = ("port", "auth", "keep_prefix")


def parse_http(value: object) -> HttpSpec | None:
    """The spec's ``http``: null, or ``{"port", "auth" (default true),
    "keep_prefix" (default false)}``. Port ``0`` means no HTTP port, as
    ``--http-port 0`` in Neu.ro: the result is None; ``auth: false`` or
    ``keep_prefix: true`` with it ask for what cannot be, and are refused (the
    defaults, as a form sends them, are not).

    Raises:
        InvalidSpec: ``http`` for the shape, ``http.port``/``http.auth``/
        ``http.keep_prefix`` for a bad value.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidSpec("http", 'http must be an object like {"port": 8888} or null')
    for key in value:
        if key not in _HTTP_KEYS:
            raise InvalidSpec("http", f"unknown field {quote(f'http.{key}')}")
    if value.get("port") is None:
        raise InvalidSpec("http.port", "http.port is required when http is given")
    port = parse_http_port(value["port"])
    if port is None:
        for key, default in (("auth", True), ("keep_prefix", False)):
            flag = value.get(key)
            if flag is not None and flag is not default:
                raise InvalidSpec(
                    f"http.{key}", f"http.{key} needs an HTTP port: port 0 means none"
                )
        return None
    flags: dict[str, bool] = {}
    for key, default in (("auth", True), ("keep_prefix", False)):
        flag = value.get(key)
        if flag is None:
            flag = default
        if not isinstance(flag, bool):
            raise InvalidSpec(f"http.{key}", f"http.{key} must be true or false")
        flags[key] = flag
    return HttpSpec(port, flags["auth"], flags["keep_prefix"])


def parse_env_value(value: object, environ: Mapping[str, str] | None) -> dict[str, str]:
    """The spec's ``env``: an object of names to values, or a list of ``-e``
    items (``VAR=VAL``, or ``VAR`` copied from ``environ``).

    Raises:
        InvalidSpec: ``env``.
    """
    if isinstance(value, list):
        return dict(parse_env_item(item, environ) for item in value)
    return parse_env(value)


def parse_share(value: object) -> tuple[str, ...]:
    """The spec's ``share``: user names and hub groups (``group:NAME``) to
    grant write on the new job; duplicates dropped, order kept.

    Raises:
        InvalidSpec: ``share``.
    """
    if not isinstance(value, (list, tuple)):
        raise InvalidSpec("share", "share must be a list of user names and group:NAME")
    return tuple(dict.fromkeys(parse_grantee(grantee, "share") for grantee in value))


def _life_span(value: object, default: int) -> int:
    return default if value is None else parse_life_span(value)


def _restart(value: object) -> RestartPolicy:
    return RestartPolicy.NEVER if value is None else parse_restart(value)


def parse_job_spec(
    data: Mapping[str, Any],
    *,
    default_preset: str,
    default_life_span: int,
    environ: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> JobSpec:
    """Validate a REST job spec and build a :class:`JobSpec`.

    Missing or null optional fields take their defaults (``default_preset``,
    ``default_life_span`` seconds, ...). ``environ`` is where a bare ``VAR`` in
    a list-form ``env`` is copied from; None (the server) rejects bare names.
    ``parse_job_spec(spec.to_json(), ...) == spec`` for every valid spec.
    Whether the preset exists is not checked here (see ``presets.find_preset``).
    ``limits`` (a server's) are checked first, before any item is parsed.

    Raises:
        InvalidSpec: the first bad field: ``field`` names it, the message the rule.
    """
    if not isinstance(data, Mapping):
        raise InvalidSpec("spec", "the job spec must be a JSON object")
    for key in data:
        if key not in SPEC_KEYS:
            shown = quote(key) if isinstance(key, str) else repr(key)
            raise InvalidSpec(
                str(key), f"unknown field {shown}: the job spec has {', '.join(SPEC_KEYS)}"
            )
    if limits is not None:
        check_spec_limits(data, limits)
    if data.get("image") is None:
        raise InvalidSpec("image", "image is required: e.g. python:3.12-slim")

    def get(key: str, default: Any = None) -> Any:
        value = data.get(key)
        return default if value is None else value

    name = get("name")
    workdir = get("workdir")
    return JobSpec(
        image=parse_image(data["image"]),
        command=parse_command(get("command", "")),
        preset=parse_preset_name(get("preset", default_preset)),
        name=None if name is None else parse_job_name(name),
        tags=parse_tags(get("tags", []), TAGS_MAX if limits is None else limits.tags),
        description=parse_description(get("description", "")),
        volumes=parse_volumes(get("volumes", [])),
        env=parse_env_value(get("env", {}), environ),
        workdir=None if workdir is None else parse_workdir(workdir),
        http=parse_http(data.get("http")),
        life_span=_life_span(data.get("life_span"), default_life_span),
        restart=_restart(data.get("restart")),
        share=parse_share(get("share", [])),
    )
