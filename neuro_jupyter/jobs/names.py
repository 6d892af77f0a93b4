"""Names: job names, job references (id, name, ``name--owner``), user names
and grantees (a user, or a hub group as ``group:NAME``).

Pure rules after DESIGN.md §2: a job name is 3-40 lowercase letters, digits and
single hyphens, starting with a letter and not starting with ``job-``; a job id
is ``job-`` + a lowercase UUID. Since a name can contain neither ``--`` nor the
``job-`` prefix, the three kinds of reference never overlap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec

__all__ = [
    "GROUP_PREFIX",
    "JOB_NAME_MAX",
    "JOB_NAME_MIN",
    "USER_NAME_MAX",
    "JobRef",
    "is_group_grantee",
    "is_valid_job_id",
    "is_valid_job_name",
    "parse_grantee",
    "parse_job_name",
    "parse_job_ref",
    "parse_user",
]

JOB_NAME_MIN = 3
JOB_NAME_MAX = 40
USER_NAME_MAX = 255
GROUP_PREFIX = "group:"
"""A grantee starting with this names a JupyterHub group, not a user (issue 9)."""

_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# Any lowercase UUID: ids minted here are UUID4, but the version is not checked
# so that fixed ids in fixtures and imported records still resolve.
_ID_RE = re.compile(r"job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_NAME_RULE = "use 3-40 lowercase letters, digits and single hyphens, starting with a letter"


def _name_problem(value: str) -> str | None:
    """Why ``value`` is not a job name, or None when it is one."""
    if not _NAME_RE.fullmatch(value):
        return _NAME_RULE
    if not JOB_NAME_MIN <= len(value) <= JOB_NAME_MAX:
        return f"{_NAME_RULE} (this one has {len(value)} characters)"
    if value.startswith("job-"):
        return "names starting with 'job-' are kept for job ids"
    return None


def is_valid_job_name(value: object) -> bool:
    """Whether ``value`` is a valid job name (a str obeying the name rule)."""
    return isinstance(value, str) and _name_problem(value) is None


def parse_job_name(value: object, field: str = "name") -> str:
    """Check a job name and return it without surrounding whitespace.

    Raises:
        InvalidSpec: not a str, or breaks the name rule; the message says which.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise InvalidSpec(field, f"job name must be a string, not {type(value).__name__}")
    problem = _name_problem(value)
    if problem is not None:
        raise InvalidSpec(field, f"job name {quote(value)} is invalid: {problem}")
    return value


def is_valid_job_id(value: object) -> bool:
    """Whether ``value`` is a job id: ``job-`` + a lowercase UUID."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _user_problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if len(value) > USER_NAME_MAX:
        return f"it is longer than {USER_NAME_MAX} characters"
    if "/" in value:
        return "it contains '/'"
    for char in value:
        if char.isspace():
            return "it contains whitespace"
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            return "it contains a control character"
    return None


def parse_user(value: object, field: str) -> str:
    """Check a Jupyter user name: non-empty, at most 255 characters, no
    whitespace, no ``/``, no control characters. Returned without surrounding
    whitespace.

    Raises:
        InvalidSpec: for ``field``, naming the broken rule.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise InvalidSpec(field, f"user name must be a string, not {type(value).__name__}")
    problem = _user_problem(value)
    if problem is not None:
        raise InvalidSpec(field, f"user name {quote(value)} is invalid: {problem}")
    return value


def is_group_grantee(grantee: str) -> bool:
    """Whether a share's grantee names a hub group (``group:NAME``)."""
    return grantee.startswith(GROUP_PREFIX)


def parse_grantee(value: object, field: str) -> str:
    """Check whom a job is shared with: a user name, or ``group:NAME`` for the
    JupyterHub group NAME. A group name follows the user-name rule (non-empty,
    at most 255 characters, no whitespace, no ``/``, no control characters).
    Returned unchanged.

    Raises:
        InvalidSpec: for ``field``, naming the broken rule.
    """
    if not isinstance(value, str):
        raise InvalidSpec(field, f"user name must be a string, not {type(value).__name__}")
    if not is_group_grantee(value):
        return parse_user(value, field)
    problem = _user_problem(value[len(GROUP_PREFIX) :])
    if problem is not None:
        raise InvalidSpec(
            field,
            f"group {quote(value)} is invalid: {problem}; use group:NAME, NAME a hub group "
            f"of at most {USER_NAME_MAX} characters with no whitespace, '/' or control characters",
        )
    return value


@dataclass(frozen=True)
class JobRef:
    """A parsed job reference, as in ``GET jobs/{ref}``.

    ``kind`` is ``"id"`` (``value`` is the job id), ``"name"`` (``value`` is a
    job name of the caller) or ``"name_owner"`` (``value`` is a job name of
    ``owner``). ``str(ref)`` gives the canonical text back.
    """

    kind: Literal["id", "name", "name_owner"]
    value: str
    owner: str | None = None

    @property
    def id(self) -> str | None:
        """The job id, for an id reference."""
        return self.value if self.kind == "id" else None

    @property
    def name(self) -> str | None:
        """The job name, for a name or name--owner reference."""
        return None if self.kind == "id" else self.value

    def __str__(self) -> str:
        if self.kind == "name_owner":
            return f"{self.value}--{self.owner}"
        return self.value


_REF_RULE = "use a job id (job-UUID), a job name, NAME--OWNER, job:NAME or job:/OWNER/NAME"


def parse_job_ref(value: object, field: str = "ref") -> JobRef:
    """Parse a job reference.

    Accepted: ``job-<uuid>`` (id), ``NAME`` (a valid job name), ``NAME--OWNER``
    (split at the first ``--``, which a name cannot contain), and Neu.ro's URI
    short forms ``job:NAME``/``job:ID`` and ``job:/OWNER/NAME``. Surrounding
    whitespace is ignored.

    Raises:
        InvalidSpec: ``field`` (default ``"ref"``); the message lists the forms.
    """
    if not isinstance(value, str):
        raise InvalidSpec(field, f"job reference must be a string, not {type(value).__name__}")
    text = value.strip()
    if text.startswith("job:/") and not text.startswith("job://"):
        owner, sep, name = text[len("job:/") :].partition("/")
        if sep and is_valid_job_name(name) and _user_problem(owner) is None:
            return JobRef("name_owner", name, owner)
    elif text.startswith("job:"):
        text = text[len("job:") :]
        if "--" in text:  # job:NAME--OWNER is not a Neu.ro form
            text = ""
    if is_valid_job_id(text):
        return JobRef("id", text)
    if is_valid_job_name(text):
        return JobRef("name", text)
    name, sep, owner = text.partition("--")
    if sep and is_valid_job_name(name) and _user_problem(owner) is None:
        return JobRef("name_owner", name, owner)
    raise InvalidSpec(field, f"job reference {quote(value)} is invalid: {_REF_RULE}")
