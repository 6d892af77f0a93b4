"""The one error tree of neuro-jupyter.

Every message is safe to show to the user who caused it: it names what was
wrong and the rule, and never leaks another user's data.

    NeuroError
    ├── InvalidSpec(field, rule)   -> HTTP 400  {"error", "field"}
    ├── NotFound                   -> HTTP 404  (also: another user's job, unshared)
    ├── Conflict                   -> HTTP 409  (a live job already has this name)
    ├── Forbidden                  -> HTTP 403  (visible, but the level is too low)
    │   └── LoginRequired          -> HTTP 401  (an anonymous visitor; existence not revealed)
    ├── Unavailable                -> HTTP 503  (the job's HTTP port cannot be reached now)
    └── IllegalTransition          -> never shown: a finished job cannot change
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Forbidden",
    "IllegalTransition",
    "InvalidSpec",
    "LoginRequired",
    "NeuroError",
    "NotFound",
    "Unavailable",
]


class NeuroError(Exception):
    """Base of every error neuro-jupyter raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidSpec(NeuroError, ValueError):
    """Bad input: ``field`` names the offending field, the message states the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(rule)
        self.field = field
        self.rule = rule


class NotFound(NeuroError, LookupError):
    """No such job, or one the caller may not know exists."""


class Conflict(NeuroError):
    """The request clashes with the current state (a live job of the same name)."""


class Forbidden(NeuroError, PermissionError):
    """The caller sees the job but lacks the permission level the action needs."""


class LoginRequired(Forbidden):
    """An anonymous visitor asked for what needs a login (a job's URL without
    ``--no-http-auth``, or one that does not exist: existence is not revealed)."""


class IllegalTransition(NeuroError):
    """A status change that the job state machine refuses (finished is final)."""


class Unavailable(NeuroError):
    """The job exists and may be opened, but is not serving now (not running, no port)."""
