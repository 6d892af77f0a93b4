"""Who may do what to a job: the owner manages it; shares grant the rest.

Levels stack (``read`` < ``write`` < ``manage``). A share names its target by
job id or by job name; a share by name also covers later jobs of that name, as
on Neu.ro. A share's grantee is a user, or ``group:NAME`` for every member of
the JupyterHub group NAME (issue 9): a caller's *principals* are their name and
their groups, and the highest level any of them holds wins. A caller with no
level at all gets :class:`NotFound` with the same text as a missing job, so
existence is never revealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .errors import Forbidden, NotFound
from .model import Job, Permission, Share
from .names import GROUP_PREFIX, is_group_grantee

__all__ = ["ACTIONS", "can", "not_found", "permission_of", "principals", "require"]

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


def principals(user: str, groups: Iterable[str] = ()) -> frozenset[str]:
    """The grantees whose shares apply to ``user``, a member of hub ``groups``:
    ``user`` and ``group:G`` for each group G.

    A user whose own name starts with ``group:`` is left out (such a grantee
    always means a group), so no user name can pose as a group.
    """
    own = () if is_group_grantee(user) else (user,)
    return frozenset((*own, *(GROUP_PREFIX + group for group in groups)))


def permission_of(
    job: Job, user: str, shares: Iterable[Share], *, groups: Iterable[str] = ()
) -> Permission | None:
    """``user``'s level on ``job``: MANAGE for the owner, else the highest level
    of the shares from the job's owner to ``user`` or to one of ``user``'s hub
    ``groups`` (see :func:`principals`) whose target is the job's id or name;
    None when there is none."""
    if user == job.owner:
        return Permission.MANAGE
    who = principals(user, groups)
    best: Permission | None = None
    for share in shares:
        if share.user not in who or share.owner != job.owner:
            continue
        if share.target == job.id or (job.name is not None and share.target == job.name):
            best = share.level if best is None else max(best, share.level)
    return best


def not_found(ref: str) -> NotFound:
    """The one "no such job" error, for missing jobs and hidden ones alike."""
    return NotFound(f"job {ref} not found")


def can(
    job: Job, user: str, shares: Iterable[Share], action: str, *, groups: Iterable[str] = ()
) -> bool:
    """Whether ``user``, a member of hub ``groups``, may do ``action`` on ``job``.

    Raises:
        ValueError: ``action`` is not in :data:`ACTIONS`.
    """
    level = permission_of(job, user, shares, groups=groups)
    return level is not None and level >= _needed(action)


def _needed(action: str) -> Permission:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown job action {action!r}") from None


def require(
    job: Job,
    user: str,
    shares: Iterable[Share],
    action: str,
    *,
    ref: str | None = None,
    groups: Iterable[str] = (),
) -> Permission:
    """Check that ``user``, a member of hub ``groups``, may do ``action`` on
    ``job``; return their level.

    ``ref`` is the reference the caller used (name, ``name--owner`` or id); the
    NotFound message repeats it, exactly as for a job that does not exist.
    It defaults to the job id.

    Raises:
        NotFound: ``user`` has no level on the job (``job REF not found``).
        Forbidden: the level is too low; names the action and the level needed.
        ValueError: ``action`` is not in :data:`ACTIONS`.
    """
    needed = _needed(action)
    level = permission_of(job, user, shares, groups=groups)
    if level is None:
        raise not_found(ref if ref is not None else job.id)
    if level < needed:
        shown = ref if ref is not None else job.id
        raise Forbidden(
            f"{action.replace('_', ' ')} needs {needed.name.lower()} permission on job "
            f"{shown}; you have {level.name.lower()}"
        )
    return level
