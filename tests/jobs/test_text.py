"""The one whitespace rule (``jobs/_text.py``): every value parser accepts
exactly the same values with surrounding whitespace as without (issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from neuro_jupyter.jobs import parse
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import JobStatus
from neuro_jupyter.jobs.presets import parse_memory, parse_preset_name
from neuro_jupyter.jobs.query import parse_flag, parse_list_query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
# Everything str.isspace calls space, the ASCII ones and the Unicode ones.
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u3000"
assert all(char.isspace() for char in SPACES)
spaces = st.text(SPACES, min_size=1, max_size=3)


def _status(text: str) -> JobStatus:
    try:
        return JobStatus.from_name(text)
    except ValueError as error:
        raise InvalidSpec("status", str(error)) from None


def _query(key: str) -> Callable[[str], object]:
    def parse_one(text: str) -> object:
        query = parse_list_query("me", {key: [text]}, NOW)
        return (query.name, query.owners, query.tags, query.since, query.until, query.limit)

    return parse_one


# Each value rule with values it accepts and values it refuses.
PARSERS: dict[str, tuple[Callable[[str], object], list[str]]] = {
    "job name": (parse.parse_job_name, ["test", "job-x", "a-b-c", "Bad", "ab"]),
    "user": (lambda t: parse.parse_user(t, "owner"), ["alice", "a b", "a/b", ""]),
    "job ref": (parse.parse_job_ref, ["test", "job:test", "test--bob", "job:/bob/test", "x"]),
    "duration": (lambda t: parse.parse_duration(t, "d"), ["1d", "2h30m", "0", "1 h", "1x"]),
    "life span": (parse.parse_life_span, ["1d", "2d3h20min", "0", "10"]),
    "since": (lambda t: parse.parse_since(t, NOW), ["2h", "2024-05", "2024-05-01T12:00Z", "x"]),
    "volume": (parse.parse_volume, ["storage::/m", "storage:a%20b:/m:ro", "storage:a:m", "x"]),
    "image": (parse.parse_image, ["ubuntu", "python:3.12", "image:a/b:v1", "Ubuntu", ""]),
    "tag": (parse.parse_tag, ["a", "x:y", "a b", ""]),
    "workdir": (parse.parse_workdir, ["/", "/srv/app", "rel", "/a/../b"]),
    "port": (parse.parse_port, ["80", "65535", "0", "x"]),
    "http port": (parse.parse_http_port, ["0", "8080", "-1"]),
    "restart": (parse.parse_restart, ["never", "on-failure", "always", "sometimes"]),
    "permission": (parse.parse_permission, ["read", "Write", "own"]),
    "preset": (parse_preset_name, ["cpu-small", "gpu-large", "Big!"]),
    "memory": (parse_memory, ["2GiB", "512Mi", "1Pi", "7", "2XB"]),
    "env item": (lambda t: parse.parse_env_item(t, {})[0], ["A=1", "A-B=x", "A", "=x", "A B=1"]),
    "env name": (lambda t: list(parse.parse_env({t: "v"})), ["A", "A.B", "A=B", ""]),
    "status": (_status, ["running", "pending", "sleeping"]),
    "flag": (lambda t: parse_flag(t, "all"), ["true", "0", "maybe"]),
    "?name=": (_query("name"), ["", "test", "Bad"]),
    "?owner=": (_query("owner"), ["alice", "a/b"]),
    "?tag=": (_query("tag"), ["a", "a b"]),
    "?since=": (_query("since"), ["", "1d", "2024-05", "x"]),
    "?until=": (_query("until"), ["2024-05-01", "2024-13"]),
    "?limit=": (_query("limit"), ["", "10", "0", "x"]),
}


def _outcome(parser: Callable[[str], object], text: str) -> tuple[bool, object]:
    try:
        return True, parser(text)
    except InvalidSpec:
        return False, None


@pytest.mark.parametrize("rule", sorted(PARSERS))
@given(data=st.data(), before=spaces, after=spaces)
@example(data=None, before=" ", after="\n")
def test_surrounding_whitespace_changes_nothing(
    rule: str, data: st.DataObject | None, before: str, after: str
) -> None:
    parser, samples = PARSERS[rule]
    candidates = samples if data is None else [data.draw(st.sampled_from(samples) | st.text())]
    for text in candidates:
        for padded in (before + text, text + after, before + text + after):
            assert _outcome(parser, padded) == _outcome(parser, text), (rule, padded)


def test_the_samples_hold_both_verdicts() -> None:
    # So that the property above compares acceptances as well as refusals.
    for rule, (parser, samples) in PARSERS.items():
        verdicts = {_outcome(parser, text)[0] for text in samples}
        assert verdicts == {True, False}, rule


def test_free_text_is_kept_as_written() -> None:
    assert parse.parse_description("  two words \n") == "  two words \n"
    assert parse.parse_command(" echo a ") == " echo a "
    assert parse.parse_env_item("A= x ", {}) == ("A", " x ")
