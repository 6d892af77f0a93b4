"""Job-spec fields that describe themselves, so forms can be built from them.

As dask-gateway's ``options.py`` publishes its options, the server publishes
:func:`spec_fields` and ``JobForm`` and the sidebar's form build their inputs
from it. Each entry is JSON: ``name``, ``type``, ``required``, ``default``,
``help``, plus ``choices`` for enums and ``fields`` for the nested ``http``.
Every value but free text (``text``, ``command``, env values) is read
without its surrounding whitespace.

Types: ``string``, ``text`` (multi-line string), ``integer``, ``boolean``,
``enum`` (one of ``choices``), ``duration`` (``2d3h20m`` or seconds),
``command`` (a string or a list of strings), ``string-list``, ``volume-list``
(``storage:PATH:/MOUNT[:rw|ro]`` strings), ``mapping`` (string to string) and
``object`` (with ``fields``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .durations import format_life_span
from .model import RestartPolicy

__all__ = ["SPEC_FIELDS", "SpecField", "spec_fields"]


@dataclass(frozen=True)
class SpecField:
    """One field of the job spec, as published to form builders."""

    name: str
    type: str
    help: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = None
    fields: tuple[SpecField, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The field as JSON data."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "help": self.help,
        }
        if self.choices is not None:
            data["choices"] = list(self.choices)
        if self.fields:
            data["fields"] = [field.to_json() for field in self.fields]
        return data


SPEC_FIELDS: tuple[SpecField, ...] = (
    SpecField("image", "string", "Image the job runs, e.g. python:3.12-slim.", required=True),
    SpecField("command", "command", "Command to run; empty runs the image's default.", default=""),
    SpecField("preset", "enum", "Size of the job: CPUs, memory, GPUs.", default="cpu-small"),
    SpecField(
        "name",
        "string",
        "Job name: 3-40 lowercase letters, digits and single hyphens, starting with a letter.",
    ),
    SpecField("tags", "string-list", "Labels without whitespace, at most 16.", default=[]),
    SpecField("description", "text", "Free text, at most 4096 characters.", default=""),
    SpecField(
        "volumes",
        "volume-list",
        "Storage to mount: storage:PATH:/MOUNT[:rw|ro]; storage::/MOUNT is your storage root. "
        "PATH is a URI path: write my%20dir for 'my dir', %23 for '#'.",
        default=[],
    ),
    SpecField(
        "env",
        "mapping",
        "Environment variables: NAME -> value; a name is printable ASCII without '=' or spaces.",
        default={},
    ),
    SpecField("workdir", "string", "Working directory, an absolute path."),
    SpecField(
        "http",
        "object",
        "Expose an HTTP port of the job behind Jupyter's login.",
        fields=(
            SpecField(
                "port",
                "integer",
                "Port the job listens on, 1-65535; 0 means no HTTP port.",
                required=True,
            ),
            SpecField("auth", "boolean", "Require login to open the URL.", default=True),
            SpecField(
                "keep_prefix",
                "boolean",
                "Forward the /neuro/jobs/REF prefix instead of stripping it.",
                default=False,
            ),
        ),
    ),
    SpecField(
        "life_span",
        "duration",
        "Running time before the job is stopped, like 2d3h20m; 0 means no limit.",
        default="1d",
    ),
    SpecField(
        "restart",
        "enum",
        "What to do when the command exits.",
        default=RestartPolicy.NEVER.value,
        choices=tuple(policy.value for policy in RestartPolicy),
    ),
    SpecField(
        "share",
        "string-list",
        "Users, and hub groups as group:NAME, granted write on the new job.",
        default=[],
    ),
)
"""The job-spec fields in the REST API's order, with built-in defaults."""


def spec_fields(
    *,
    default_preset: str | None = None,
    default_life_span: int | None = None,
    presets: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """:data:`SPEC_FIELDS` as JSON, with this server's defaults filled in:
    ``default_preset``, ``default_life_span`` (seconds) and the preset names
    as the ``preset`` field's choices."""
    result = []
    for field in SPEC_FIELDS:
        if field.name == "preset":
            field = replace(
                field,
                default=default_preset or field.default,
                choices=tuple(presets) or None,
            )
        elif field.name == "life_span" and default_life_span is not None:
            field = replace(field, default=format_life_span(default_life_span))
        result.append(field.to_json())
    return result
