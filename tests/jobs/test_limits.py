"""Limits on one request (issue 14): refused by counting, before any item is parsed."""

from __future__ import annotations

from typing import Any

import pytest

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.limits import Limits, check_json_input, check_spec_limits, env_size
from neuro_jupyter.jobs.spec import parse_job_spec

LIMITS = Limits()


def parse(data: dict[str, Any], limits: Limits = LIMITS) -> Any:
    return parse_job_spec(data, default_preset="cpu-small", default_life_span=60, limits=limits)


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_up_to_the_limit_passes_and_one_more_is_refused() -> None:
    check_json_input({"a": nested(LIMITS.json_depth - 1)}, LIMITS.json_depth)
    with pytest.raises(InvalidSpec) as refused:
        check_json_input({"a": nested(LIMITS.json_depth)}, LIMITS.json_depth)
    assert refused.value.field == "body" and "16 levels" in refused.value.rule


def test_nesting_far_beyond_the_recursion_limit_is_refused_without_recursion() -> None:
    with pytest.raises(InvalidSpec):
        check_json_input({"a": nested(100_000)}, LIMITS.json_depth)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "a\ud800b"}, "description"),
        ({"command": ["echo", "\udfff"]}, "command"),
        ({"env": {"A": "\ud83d"}}, "env"),
        ({"env": {"A\ud800": "x"}}, "env"),
        ({"image": "ubu\0ntu"}, "image"),
        ({"\ud800": 1}, "body"),
        ({"http": {"port": 80, "auth": True}, "tags": ["ok", "n\0ul"]}, "tags"),
    ],
)
def test_lone_surrogates_and_nuls_are_refused_naming_the_top_level_field(
    body: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSpec) as refused:
        check_json_input(body, LIMITS.json_depth)
    assert refused.value.field == field


def test_a_surrogate_pair_written_as_escapes_is_one_character_and_passes() -> None:
    # json.loads('"\\ud83d\\ude00"') is "😀": only lone halves are refused.
    check_json_input({"description": "😀"}, LIMITS.json_depth)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"share": [f"user{i}" for i in range(65)]}, "share"),
        ({"volumes": [f"storage:d{i}:/m{i}" for i in range(65)]}, "volumes"),
        ({"tags": [f"t{i}" for i in range(17)]}, "tags"),
        ({"env": {f"V{i}": "" for i in range(257)}}, "env"),
        ({"env": {"BIG": "x" * (1 << 16)}}, "env"),
        ({"env": ["BIG=" + "x" * (1 << 16)]}, "env"),
        ({"command": "echo " + "x" * (1 << 16)}, "command"),
        ({"command": ["echo", "é" * (1 << 15)]}, "command"),
    ],
)
def test_each_limit_is_refused_naming_its_field_and_the_limit(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSpec) as refused:
        parse({"image": "ubuntu", **data})
    assert refused.value.field == field
    assert "at most" in refused.value.rule


def test_limits_are_checked_before_the_items() -> None:
    # 100,000 bad user names: the count is refused, not the first name.
    with pytest.raises(InvalidSpec, match="100000 users to share with given: at most 64"):
        check_spec_limits({"share": [" "] * 100_000}, LIMITS)


def test_the_largest_accepted_spec_parses() -> None:
    value = "x" * (LIMITS.env_size - env_size({"BIG": ""}))
    spec = parse(
        {
            "image": "ubuntu",
            "command": "x" * LIMITS.command_length,
            "env": {"BIG": value},
            "share": [f"user{i}" for i in range(LIMITS.shares)],
            "tags": [f"t{i}" for i in range(LIMITS.tags)],
        }
    )
    assert env_size(spec.env) == LIMITS.env_size
    assert len(spec.share) == LIMITS.shares


def test_smaller_configured_limits_apply() -> None:
    with pytest.raises(InvalidSpec, match="at most 2"):
        parse({"image": "ubuntu", "tags": ["a", "b", "c"]}, Limits(tags=2))
