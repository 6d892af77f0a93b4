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
        # Neu.ro takes any name without '=' (issue 13): the job's environment does.
        ("A-B=x", ("A-B", "x")),
        ("A.B=x", ("A.B", "x")),
        ("1VAR=x", ("1VAR", "x")),
        ("  A = x ", ("A", " x ")),  # the name is stripped, the value kept as written
    ],
)
def test_env_items(item: str, pair: tuple[str, str]) -> None:
    assert parse_env_item(item, {"HOME": "/home/me"}) == pair


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("=x", "env name '' is invalid"),
        (" =x", "env name '' is invalid"),
        ("A=\0", "NUL"),
        ("A B=x", "printable ASCII characters other than '=' and spaces"),
        ("\u00e9=x", "env name '\u00e9' is invalid"),
        ("A\x01=x", "is invalid"),
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
    assert parse_env_file(text) == {"A": "3", "B": " x", "C": "two words ", "E": ""}
    with pytest.raises(InvalidSpec, match="line 4: env name 'B C' is invalid"):
        parse_env_file(text.replace("  B = x", "B C=x"))


def test_env_file_export_lines() -> None:
    # `export A=1` is how many env files are written, to be sourced by a shell too.
    text = "export A=1\nexport\tB=two words\n  export C\nexport=3\nexported=4\n"
    assert parse_env_file(text, {"C": "from-env"}) == {
        "A": "1",
        "B": "two words",
        "C": "from-env",
        "export": "3",
        "exported": "4",
    }
    with pytest.raises(InvalidSpec, match="line 1: env name 'A B' is invalid"):
        parse_env_file("export A B=1\n")


def test_env_file_errors_name_the_line() -> None:
    with pytest.raises(InvalidSpec, match=r"^env file line 3: env name '9 9' is invalid") as info:
        parse_env_file("A=1\n\n9 9=x\n")
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
    with pytest.raises(ValueError, match="starting with '#'"):
        format_env_file({"#A": "x"})


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
    assert parse_env({"A-B": "1", " A.B ": " 2"}) == {"A-B": "1", "A.B": " 2"}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["A=1"], "env must be an object"),
        ({"A": 1}, "the value must be a string, not int"),
        ({"A": None}, "the value must be a string, not NoneType"),
        ({1: "x"}, "env name must be a string"),
        ({"A=B": "x"}, "env name 'A=B' is invalid"),
        ({"": "x"}, "env name '' is invalid"),
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
