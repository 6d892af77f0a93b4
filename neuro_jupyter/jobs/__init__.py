"""The job domain: records, rules, permissions and presets. Pure: no I/O.

Import the records from :mod:`.model`, the rules from :mod:`.parse`, the
errors from :mod:`.errors`; the names below are the ones most callers need.
"""

from __future__ import annotations

from .errors import Conflict, Forbidden, IllegalTransition, InvalidSpec, NeuroError, NotFound
from .model import (
    HttpSpec,
    Job,
    JobSpec,
    JobStatus,
    ListJobsQuery,
    Permission,
    Preset,
    Reason,
    RestartPolicy,
    Share,
    StatusItem,
    Volume,
)
from .names import JobRef, parse_job_ref
from .permissions import ACTIONS, permission_of, require
from .presets import find_preset, local_presets, parse_preset
from .spec import parse_job_spec
from .spec_fields import spec_fields

__all__ = [
    "ACTIONS",
    "Conflict",
    "Forbidden",
    "HttpSpec",
    "IllegalTransition",
    "InvalidSpec",
    "Job",
    "JobRef",
    "JobSpec",
    "JobStatus",
    "ListJobsQuery",
    "NeuroError",
    "NotFound",
    "Permission",
    "Preset",
    "Reason",
    "RestartPolicy",
    "Share",
    "StatusItem",
    "Volume",
    "find_preset",
    "local_presets",
    "parse_job_ref",
    "parse_job_spec",
    "parse_preset",
    "permission_of",
    "require",
    "spec_fields",
]
