"""Environment variables: items, env files and the spec's object."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.env import (
    format_env_file,
    is_valid_env_name,
    parse_env,
    parse_env_file,
    parse_env_item,
)
from neuro_jupyter.jobs.errors import InvalidSpec

from .strategies import envs


@pytest.mark.parametrize(
    ("item", "pair"),
    [
        ("VAR=VAL", ("VAR", "VAL")),
        ("VAR=", ("VAR", "")),
        ("VAR=a=b", ("VAR", "a=b")),
        ("_x1=secret:KEY", ("_x1", "secret:KEY")),
        ("HOME", ("HOME", "/home/me")),
        ("UNSET", ("UNSET", "")),
    ],
)
def test_env_items(item: str, pair: tuple[str, str]) -> None:
    assert parse_env_item(item, {"HOME": "/home/me"}) == pair


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("1VAR=x", "env name '1VAR' is invalid"),
        ("=x", "env name '' is invalid"),
        ("A-B=x", "letters, digits and underscores"),
        ("A=\0", "NUL"),
        ("A B=x", "is invalid"),
    ],
)
def test_bad_env_items(item: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_env_item(item, {})
    assert info.value.field == "env"
    assert words in str(info.value)


def test_bare_name_without_environment() -> None:
    with pytest.raises(InvalidSpec, match="has no value: write HOME=VALUE") as info:
        parse_env_item("HOME", None)
    assert info.value.field == "env"


def test_env_file() -> None:
    text = "\ufeff# settings\n\nA=1\r\n  B = x\nC=two words \n#D=4\nA=3\nE=\n"
    with pytest.raises(InvalidSpec, match="line 4: env name 'B ' is invalid"):
        parse_env_file(text)
    text = text.replace("  B = x\n", "  B= x\n")
    assert parse_env_file(text) == {"A": "3", "B": " x", "C": "two words ", "E": ""}


def test_env_file_errors_name_the_line() -> None:
    with pytest.raises(InvalidSpec, match=r"^env file line 3: env name '9' is invalid") as info:
        parse_env_file("A=1\n\n9=x\n")
    assert info.value.field == "env"
    with pytest.raises(InvalidSpec, match=r"^env file line 1: env item 'A' has no value"):
        parse_env_file("A\n")
    assert parse_env_file("A\n", {"A": "from-env"}) == {"A": "from-env"}


@given(envs)
def test_env_file_round_trip(env: dict[str, str]) -> None:
    assert parse_env_file(format_env_file(env)) == env
    assert parse_env_file("\ufeff" + format_env_file(env).replace("\n", "\r\n")) == env


def test_format_env_file_refuses_line_breaks() -> None:
    with pytest.raises(ValueError, match="line break"):
        format_env_file({"A": "x\ny"})


@given(st.text(max_size=60))
def test_junk_env_files(text: str) -> None:
    try:
        env = parse_env_file(text, {})
    except InvalidSpec as error:
        assert error.field == "env"
        assert error.rule.startswith("env file line ")
    else:
        assert all(is_valid_env_name(name) for name in env)


def test_env_objects() -> None:
    assert parse_env({"A": "1", "b_2": "x\ny"}) == {"A": "1", "b_2": "x\ny"}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["A=1"], "env must be an object"),
        ({"A": 1}, "the value must be a string, not int"),
        ({"A": None}, "the value must be a string, not NoneType"),
        ({1: "x"}, "env name must be a string"),
        ({"1A": "x"}, "env name '1A' is invalid"),
        ({"A": "a\0"}, "NUL"),
    ],
)
def test_bad_env_objects(value: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_env(value)
    assert info.value.field == "env"
    assert words in str(info.value)


def test_env_item_wrong_type() -> None:
    with pytest.raises(InvalidSpec, match="env item must be a string"):
        parse_env_item(3, {})
