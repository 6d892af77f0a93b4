"""Small spec rules: tags, description, command, workdir, port, restart, level."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.fields import (
    command_argv,
    parse_command,
    parse_description,
    parse_http_port,
    parse_permission,
    parse_port,
    parse_restart,
    parse_tag,
    parse_tags,
    parse_workdir,
)
from neuro_jupyter.jobs.model import Permission, RestartPolicy

from .strategies import tags


def _rejects(field: str, words: str, func: object, value: object) -> None:
    assert callable(func)
    with pytest.raises(InvalidSpec) as info:
        func(value)
    assert info.value.field == field
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("tag", ["a", "x" * 256, "team:ml", "κ", "v1.2"])
def test_tags(tag: str) -> None:
    assert parse_tag(tag) == tag


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("", "1-256 characters"),
        ("x" * 257, "1-256 characters"),
        ("a b", "no whitespace"),
        ("a\tb", "no whitespace"),
        ("a\u00a0b", "no whitespace"),
        ("a\x01", "control characters"),
        (3, "must be a string"),
    ],
)
def test_bad_tags(tag: object, words: str) -> None:
    _rejects("tags", words, parse_tag, tag)


def test_tag_lists() -> None:
    assert parse_tags(["b", "a", "b"]) == ("a", "b")
    assert parse_tags([f"t{i}" for i in range(16)] + ["t0"]) == tuple(
        sorted(f"t{i}" for i in range(16))
    )
    _rejects("tags", "at most 16", parse_tags, [f"t{i}" for i in range(17)])
    _rejects("tags", "must be a list", parse_tags, "a")
    _rejects("tags", "must be a list", parse_tags, {"a": 1})


@given(st.lists(tags, max_size=16))
def test_tags_round_trip(values: list[str]) -> None:
    parsed = parse_tags(values)
    assert parsed == tuple(sorted(set(values)))
    assert parse_tags(list(parsed)) == parsed


def test_descriptions() -> None:
    assert parse_description("x" * 4096) == "x" * 4096
    assert parse_description("two\nlines") == "two\nlines"
    _rejects("description", "at most 4096", parse_description, "x" * 4097)
    _rejects("description", "NUL", parse_description, "a\0")
    _rejects("description", "must be a string", parse_description, 1)


def test_commands() -> None:
    assert parse_command("python -c 'print(1)'") == "python -c 'print(1)'"
    assert parse_command(["python", "-c", "print(1)"]) == "python -c 'print(1)'"
    assert parse_command([]) == ""
    assert parse_command("") == ""
    _rejects("command", "string or a list of strings", parse_command, ["a", 1])
    _rejects("command", "string or a list of strings", parse_command, 5)
    _rejects("command", "cannot be split into words", parse_command, "echo 'unclosed")
    _rejects("command", "NUL", parse_command, ["a\0"])


@given(st.lists(st.text(st.characters(exclude_characters="\0", codec="utf-8"))))
def test_command_lists_round_trip(argv: list[str]) -> None:
    assert command_argv(parse_command(argv)) == argv


@given(st.text(max_size=30))
def test_junk_commands(text: str) -> None:
    try:
        assert command_argv(parse_command(text)) == shlex.split(text)
    except InvalidSpec as error:
        assert error.field == "command"


def test_workdirs() -> None:
    assert parse_workdir("/srv/app") == "/srv/app"
    assert parse_workdir("/") == "/"
    _rejects("workdir", "must be absolute", parse_workdir, "srv")
    _rejects("workdir", "must be absolute", parse_workdir, "")
    _rejects("workdir", "contains '..'", parse_workdir, "/a/../b")
    _rejects("workdir", "control character", parse_workdir, "/a\0")
    _rejects("workdir", "must be a string", parse_workdir, 3)


@pytest.mark.parametrize(("value", "port"), [(1, 1), (65535, 65535), ("8888", 8888), (" 80 ", 80)])
def test_ports(value: object, port: int) -> None:
    assert parse_port(value) == port


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "from 1 to 65535"),
        (65536, "from 1 to 65535"),
        (-1, "from 1 to 65535"),
        (True, "not bool"),
        (80.0, "not float"),
        ("http", "port 'http' is invalid"),
        ("-1", "port '-1' is invalid"),
        ("0", "from 1 to 65535"),
        ("9" * 5000, "is invalid: use a whole number"),
        (None, "not NoneType"),
    ],
)
def test_bad_ports(value: object, words: str) -> None:
    _rejects("http.port", words, parse_port, value)


@pytest.mark.parametrize(
    ("value", "port"), [(0, None), ("0", None), (" 0\n", None), (8080, 8080), ("443", 443)]
)
def test_http_ports_where_0_is_none(value: object, port: int | None) -> None:
    # Neu.ro's --http-port 0: no HTTP port (issue 13).
    assert parse_http_port(value) == port


@pytest.mark.parametrize(("value", "words"), [(False, "not bool"), ("00x", "is invalid"), (-1, "")])
def test_bad_http_ports(value: object, words: str) -> None:
    _rejects("http.port", words, parse_http_port, value)


def test_restart() -> None:
    assert parse_restart("on-failure") is RestartPolicy.ON_FAILURE
    assert parse_restart(RestartPolicy.ALWAYS) is RestartPolicy.ALWAYS
    _rejects("restart", "use never, on-failure, always", parse_restart, "sometimes")
    _rejects("restart", "one of never, on-failure, always", parse_restart, 1)


def test_permission_levels() -> None:
    assert parse_permission("read") is Permission.READ
    assert parse_permission("Write") is Permission.WRITE
    assert parse_permission(Permission.MANAGE) is Permission.MANAGE
    _rejects("level", "use read, write or manage", parse_permission, "admin")
    _rejects("level", "use read, write or manage", parse_permission, "")
    _rejects("level", "read, write or manage", parse_permission, 2)
