"""Permission levels from ownership and shares."""

from __future__ import annotations

import pytest

from neuro_jupyter.jobs.errors import Forbidden, NotFound
from neuro_jupyter.jobs.model import Job, JobSpec, Permission, Preset, Share
from neuro_jupyter.jobs.permissions import (
    ACTIONS,
    can,
    not_found,
    permission_of,
    principals,
    require,
)

PRESET = Preset("cpu-small", cpu=1.0, memory=2**30)


def a_job(owner: str = "alice", name: str | None = "train") -> Job:
    return Job.create(owner, JobSpec(image="ubuntu", name=name), PRESET)


def test_owner_manages() -> None:
    job = a_job()
    assert permission_of(job, "alice", []) is Permission.MANAGE


def test_no_share_no_level() -> None:
    assert permission_of(a_job(), "bob", []) is None


def test_share_by_id_and_by_name() -> None:
    job = a_job()
    by_id = Share("alice", job.id, "bob", Permission.READ)
    by_name = Share("alice", "train", "bob", Permission.WRITE)
    assert permission_of(job, "bob", [by_id]) is Permission.READ
    assert permission_of(job, "bob", [by_name]) is Permission.WRITE
    assert permission_of(job, "bob", [by_id, by_name]) is Permission.WRITE


def test_share_by_name_covers_later_jobs_of_that_name() -> None:
    share = Share("alice", "train", "bob", Permission.READ)
    assert permission_of(a_job(), "bob", [share]) is Permission.READ
    assert permission_of(a_job(), "bob", [share]) is Permission.READ


@pytest.mark.parametrize(
    "share",
    [
        Share("carol", "train", "bob", Permission.MANAGE),  # another owner's job of that name
        Share("alice", "train", "carol", Permission.MANAGE),  # shared with someone else
        Share("alice", "other", "bob", Permission.MANAGE),  # another target
        Share("alice", "job-00000000-0000-0000-0000-000000000000", "bob", Permission.MANAGE),
    ],
)
def test_shares_that_do_not_match(share: Share) -> None:
    assert permission_of(a_job(), "bob", [share]) is None


def test_unnamed_job_matches_only_by_id() -> None:
    job = a_job(name=None)
    assert permission_of(job, "bob", [Share("alice", "", "bob", Permission.READ)]) is None
    assert permission_of(job, "bob", [Share("alice", job.id, "bob", Permission.READ)]) is not None


def test_actions() -> None:
    assert {a for a, level in ACTIONS.items() if level is Permission.READ} == {
        "view", "logs", "top", "browse", "rerun"
    }  # fmt: skip
    assert {a for a, level in ACTIONS.items() if level is Permission.WRITE} == {
        "kill", "exec", "bump_life_span", "attach"
    }  # fmt: skip
    assert {a for a, level in ACTIONS.items() if level is Permission.MANAGE} == {"share"}
    with pytest.raises(TypeError):
        ACTIONS["kill"] = Permission.READ  # type: ignore[index]


def test_require_returns_the_level() -> None:
    job = a_job()
    share = Share("alice", job.id, "bob", Permission.WRITE)
    assert require(job, "alice", [], "share") is Permission.MANAGE
    assert require(job, "bob", [share], "kill") is Permission.WRITE
    assert require(job, "bob", [share], "logs") is Permission.WRITE
    assert can(job, "bob", [share], "kill")
    assert not can(job, "bob", [share], "share")
    assert not can(job, "carol", [share], "view")


def test_require_hides_unshared_jobs() -> None:
    job = a_job()
    with pytest.raises(NotFound) as info:
        require(job, "bob", [], "view")
    assert str(info.value) == str(not_found(job.id)) == f"job {job.id} not found"
    with pytest.raises(NotFound) as info:
        require(job, "bob", [], "kill", ref="train--alice")
    assert str(info.value) == "job train--alice not found"


def test_require_forbids_too_low_a_level() -> None:
    job = a_job()
    share = Share("alice", "train", "bob", Permission.READ)
    with pytest.raises(Forbidden) as info:
        require(job, "bob", [share], "bump_life_span", ref="train--alice")
    assert str(info.value) == (
        "bump life span needs write permission on job train--alice; you have read"
    )
    with pytest.raises(Forbidden, match="share needs manage permission"):
        require(job, "bob", [share], "share")


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown job action 'fly'"):
        require(a_job(), "alice", [], "fly")
    with pytest.raises(ValueError, match="unknown job action"):
        can(a_job(), "alice", [], "fly")


# -- hub groups (issue 9) -------------------------------------------------------------


def test_principals_are_the_user_and_their_groups() -> None:
    assert principals("bob") == frozenset({"bob"})
    assert principals("bob", ["ml", "cv"]) == frozenset({"bob", "group:ml", "group:cv"})
    assert principals("bob", iter(["ml"])) == frozenset({"bob", "group:ml"})


def test_a_user_named_like_a_group_is_not_that_group() -> None:
    assert principals("group:ml") == frozenset()
    job = a_job()
    share = Share("alice", "train", "group:ml", Permission.READ)
    assert permission_of(job, "group:ml", [share]) is None
    assert permission_of(job, "group:ml", [share], groups=["ml"]) is Permission.READ


def test_a_group_share_applies_to_members_only() -> None:
    job = a_job()
    share = Share("alice", job.id, "group:ml", Permission.WRITE)
    assert permission_of(job, "bob", [share], groups=["ml"]) is Permission.WRITE
    assert permission_of(job, "bob", [share], groups={"cv", "ml"}) is Permission.WRITE
    assert permission_of(job, "bob", [share]) is None
    assert permission_of(job, "bob", [share], groups=["cv"]) is None
    assert permission_of(job, "bob", [share], groups=["group:ml"]) is None
    # a user called "ml" is not the group
    assert permission_of(job, "ml", [share]) is None


def test_group_shares_follow_the_target_and_owner_rules() -> None:
    share = Share("carol", "train", "group:ml", Permission.MANAGE)
    assert permission_of(a_job(), "bob", [share], groups=["ml"]) is None
    by_name = Share("alice", "train", "group:ml", Permission.READ)
    assert permission_of(a_job(), "bob", [by_name], groups=["ml"]) is Permission.READ
    assert permission_of(a_job(name="other"), "bob", [by_name], groups=["ml"]) is None


def test_user_and_group_levels_stack_highest_wins() -> None:
    job = a_job()
    own = Share("alice", job.id, "bob", Permission.READ)
    ml = Share("alice", "train", "group:ml", Permission.WRITE)
    cv = Share("alice", job.id, "group:cv", Permission.MANAGE)
    assert permission_of(job, "bob", [own, ml], groups=["ml"]) is Permission.WRITE
    assert permission_of(job, "bob", [own, ml, cv], groups=["ml", "cv"]) is Permission.MANAGE
    assert permission_of(job, "bob", [own, ml, cv]) is Permission.READ
    # the owner manages, whatever the groups say
    assert permission_of(job, "alice", [ml], groups=["ml"]) is Permission.MANAGE


def test_require_and_can_take_groups() -> None:
    job = a_job()
    share = Share("alice", "train", "group:ml", Permission.READ)
    assert require(job, "bob", [share], "logs", groups=["ml"]) is Permission.READ
    assert can(job, "bob", [share], "browse", groups=["ml"])
    assert not can(job, "bob", [share], "kill", groups=["ml"])
    assert not can(job, "bob", [share], "view")
    with pytest.raises(Forbidden, match="kill needs write permission"):
        require(job, "bob", [share], "kill", groups=["ml"])
    with pytest.raises(NotFound, match="job train--alice not found"):
        require(job, "bob", [share], "view", ref="train--alice", groups=["cv"])
