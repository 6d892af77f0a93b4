"""Who may do what to a job: the owner manages it; shares grant the rest.

Levels stack (``read`` < ``write`` < ``manage``). A share names its target by
job id or by job name; a share by name also covers later jobs of that name, as
on Neu.ro. A caller with no level at all gets :class:`NotFound` with the same
text as a missing job, so existence is never revealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .errors import Forbidden, NotFound
from .model import Job, Permission, Share

__all__ = ["ACTIONS", "can", "not_found", "permission_of", "require"]

ACTIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "view": Permission.READ,
        "logs": Permission.READ,
        "top": Permission.READ,
        "browse": Permission.READ,
        # Rerun makes a new job owned by the caller, so seeing the spec is enough.
        "rerun": Permission.READ,
        "kill": Permission.WRITE,
        "exec": Permission.WRITE,
        "bump_life_span": Permission.WRITE,
        "attach": Permission.WRITE,
        "share": Permission.MANAGE,
    }
)
"""Each action on a job and the level it needs."""


def permission_of(job: Job, user: str, shares: Iterable[Share]) -> Permission | None:
    """``user``'s level on ``job``: MANAGE for the owner, else the highest level
    of the shares from the job's owner to ``user`` whose target is the job's id
    or name; None when there is none."""
    if user == job.owner:
        return Permission.MANAGE
    best: Permission | None = None
    for share in shares:
        if share.user != user or share.owner != job.owner:
            continue
        if share.target == job.id or (job.name is not None and share.target == job.name):
            best = share.level if best is None else max(best, share.level)
    return best


def not_found(ref: str) -> NotFound:
    """The one "no such job" error, for missing jobs and hidden ones alike."""
    return NotFound(f"job {ref} not found")


def can(job: Job, user: str, shares: Iterable[Share], action: str) -> bool:
    """Whether ``user`` may do ``action`` on ``job``.

    Raises:
        ValueError: ``action`` is not in :data:`ACTIONS`.
    """
    level = permission_of(job, user, shares)
    return level is not None and level >= _needed(action)


def _needed(action: str) -> Permission:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown job action {action!r}") from None


def require(
    job: Job, user: str, shares: Iterable[Share], action: str, *, ref: str | None = None
) -> Permission:
    """Check that ``user`` may do ``action`` on ``job``; return their level.

    ``ref`` is the reference the caller used (name, ``name--owner`` or id); the
    NotFound message repeats it, exactly as for a job that does not exist.
    It defaults to the job id.

    Raises:
        NotFound: ``user`` has no level on the job (``job REF not found``).
        Forbidden: the level is too low; names the action and the level needed.
        ValueError: ``action`` is not in :data:`ACTIONS`.
    """
    needed = _needed(action)
    level = permission_of(job, user, shares)
    if level is None:
        raise not_found(ref if ref is not None else job.id)
    if level < needed:
        shown = ref if ref is not None else job.id
        raise Forbidden(
            f"{action.replace('_', ' ')} needs {needed.name.lower()} permission on job "
            f"{shown}; you have {level.name.lower()}"
        )
    return level
