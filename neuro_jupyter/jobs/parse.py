"""Every user-input rule of the job domain, in one import.

The rules live in small modules (``names``, ``durations``, ``volumes``,
``env``, ``images``, ``fields``, ``spec``, ``spec_fields``); this module
gathers them. Every rejection is ``InvalidSpec(field, rule)``: ``field`` is the
job-spec field, the message states the rule in plain words.
"""

from __future__ import annotations

from .durations import (
    MAX_DURATION,
    format_duration,
    format_life_span,
    localize_time,
    parse_duration,
    parse_life_span,
    parse_since,
)
from .env import format_env_file, is_valid_env_name, parse_env, parse_env_file, parse_env_item
from .fields import (
    command_argv,
    parse_command,
    parse_description,
    parse_http_port,
    parse_permission,
    parse_port,
    parse_restart,
    parse_tag,
    parse_tags,
    parse_workdir,
)
from .images import is_valid_image, parse_image
from .names import (
    JobRef,
    is_valid_job_id,
    is_valid_job_name,
    parse_grantee,
    parse_job_name,
    parse_job_ref,
    parse_user,
)
from .spec import SPEC_KEYS, parse_http, parse_job_spec, parse_share
from .spec_fields import SPEC_FIELDS, SpecField, spec_fields
from .volumes import format_volume, parse_volume, parse_volume_data, parse_volumes

__all__ = [
    "MAX_DURATION",
    "SPEC_FIELDS",
    "SPEC_KEYS",
    "JobRef",
    "SpecField",
    "command_argv",
    "format_duration",
    "format_env_file",
    "format_life_span",
    "format_volume",
    "is_valid_env_name",
    "is_valid_image",
    "is_valid_job_id",
    "is_valid_job_name",
    "localize_time",
    "parse_command",
    "parse_description",
    "parse_duration",
    "parse_env",
    "parse_env_file",
    "parse_env_item",
    "parse_grantee",
    "parse_http",
    "parse_http_port",
    "parse_image",
    "parse_job_name",
    "parse_job_ref",
    "parse_job_spec",
    "parse_life_span",
    "parse_permission",
    "parse_port",
    "parse_restart",
    "parse_share",
    "parse_since",
    "parse_tag",
    "parse_tags",
    "parse_user",
    "parse_volume",
    "parse_volume_data",
    "parse_volumes",
    "parse_workdir",
    "spec_fields",
]
