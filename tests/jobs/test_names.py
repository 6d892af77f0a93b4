"""Job names, job references, user names and grantees."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import new_job_id
from neuro_jupyter.jobs.names import (
    JobRef,
    is_group_grantee,
    is_valid_job_id,
    is_valid_job_name,
    parse_grantee,
    parse_job_name,
    parse_job_ref,
    parse_user,
)

from .strategies import job_names, users


@pytest.mark.parametrize("name", ["abc", "my-job", "a1-b2-c3", "x" * 40, "train-2024"])
def test_valid_names(name: str) -> None:
    assert parse_job_name(name) == name
    assert is_valid_job_name(name)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Abc", "lowercase letters, digits and single hyphens"),
        ("ab", "3-40"),
        ("x" * 41, "has 41 characters"),
        ("1abc", "starting with a letter"),
        ("ab--c", "single hyphens"),
        ("abc-", "single hyphens"),
        ("-abc", "starting with a letter"),
        ("my_job", "lowercase letters"),
        ("job-abc", "kept for job ids"),
        ("", "3-40"),
        ("ab c", "3-40"),
    ],
)
def test_invalid_names(name: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_job_name(name)
    assert info.value.field == "name"
    assert words in str(info.value)
    assert repr(name) in str(info.value) or len(name) > 40
    assert not is_valid_job_name(name)


def test_name_message_reads_well() -> None:
    with pytest.raises(InvalidSpec, match=r"^job name 'Abc' is invalid: use 3-40 lowercase"):
        parse_job_name("Abc")


def test_name_wrong_type() -> None:
    with pytest.raises(InvalidSpec, match="must be a string, not int"):
        parse_job_name(5)
    assert not is_valid_job_name(None)


@given(job_names)
def test_generated_names_are_valid(name: str) -> None:
    assert parse_job_name(name) == name


@given(st.text(max_size=50))
def test_any_text_is_a_name_or_invalid(text: str) -> None:
    try:
        assert parse_job_name(text) == text
    except InvalidSpec as error:
        assert error.field == "name"


def test_job_ids() -> None:
    assert is_valid_job_id(new_job_id())
    assert is_valid_job_id(f"job-{uuid.UUID(int=0)}")
    assert not is_valid_job_id(f"job-{str(uuid.uuid4()).upper()}")
    assert not is_valid_job_id("job-123")


def test_ref_kinds() -> None:
    job_id = new_job_id()
    assert parse_job_ref(job_id) == JobRef("id", job_id)
    assert parse_job_ref("my-job") == JobRef("name", "my-job")
    assert parse_job_ref("my-job--alice") == JobRef("name_owner", "my-job", "alice")
    assert parse_job_ref("my-job--al--ice").owner == "al--ice"
    assert parse_job_ref("job:my-job") == JobRef("name", "my-job")
    assert parse_job_ref(f"job:{job_id}") == JobRef("id", job_id)
    assert parse_job_ref("job:/alice/my-job") == JobRef("name_owner", "my-job", "alice")
    assert parse_job_ref("  my-job ") == JobRef("name", "my-job")


def test_ref_properties_and_text() -> None:
    job_id = new_job_id()
    ref = parse_job_ref(job_id)
    assert (ref.id, ref.name, str(ref)) == (job_id, None, job_id)
    ref = parse_job_ref("job:/alice/my-job")
    assert (ref.id, ref.name, str(ref)) == (None, "my-job", "my-job--alice")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Job",
        "a--b",
        "--alice",
        "my-job--",
        "my-job--a/b",
        "job:",
        "job://c/p/x",
        "job:a--b",
        "job:/alice",
        "job-zzz",
        7,
    ],
)
def test_bad_refs(text: object) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_job_ref(text)
    assert info.value.field == "ref"
    assert "job" in str(info.value)


@given(job_names, users)
def test_name_owner_round_trip(name: str, owner: str) -> None:
    ref = parse_job_ref(f"{name}--{owner}")
    assert (ref.kind, ref.value, ref.owner) == ("name_owner", name, owner)
    assert parse_job_ref(str(ref)) == ref


@pytest.mark.parametrize("user", ["alice", "a@b.c", "Bob_1", "x" * 255, "名前"])
def test_valid_users(user: str) -> None:
    assert parse_user(user, "share") == user


@pytest.mark.parametrize(
    ("user", "words"),
    [
        ("", "empty"),
        ("x" * 256, "longer than 255"),
        ("a b", "whitespace"),
        ("a/b", "'/'"),
        ("a\x00b", "control character"),
        ("a\tb", "whitespace"),
        (3, "must be a string"),
    ],
)
def test_invalid_users(user: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_user(user, "owner")
    assert info.value.field == "owner"
    assert words in str(info.value)


@pytest.mark.parametrize(
    "grantee", ["alice", "a@b.c", "group:ml", "group:ML_team-2", "group:" + "g" * 255, "group:名前"]
)
def test_valid_grantees(grantee: str) -> None:
    assert parse_grantee(grantee, "user") == grantee


def test_a_group_grantee_is_told_from_a_user() -> None:
    assert is_group_grantee("group:ml")
    assert not is_group_grantee("alice")
    assert not is_group_grantee("groupie")
    assert not is_group_grantee("ml:group")


@pytest.mark.parametrize(
    ("grantee", "words"),
    [
        ("group:", "it is empty"),
        ("group:" + "g" * 256, "longer than 255"),
        ("group:m l", "whitespace"),
        ("group:a/b", "'/'"),
        ("group:a\x00b", "control character"),
    ],
)
def test_invalid_groups_name_the_group_rule(grantee: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_grantee(grantee, "share")
    assert info.value.field == "share"
    assert str(info.value).startswith("group 'group:")
    assert words in str(info.value)
    assert "use group:NAME" in str(info.value)


@pytest.mark.parametrize(
    ("grantee", "words"), [("", "empty"), ("a b", "whitespace"), (3, "string")]
)
def test_invalid_user_grantees_name_the_user_rule(grantee: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_grantee(grantee, "user")
    assert info.value.field == "user"
    assert "user name" in str(info.value)
    assert words in str(info.value)
