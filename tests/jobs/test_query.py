"""The rules of ``GET jobs`` parameters: ``limit`` capped, ``cursor`` round-trips (issue 14)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Job, JobSpec, JobStatus, Preset
from neuro_jupyter.jobs.query import (
    format_cursor,
    matches,
    parse_cursor,
    parse_events_query,
    parse_flag,
    parse_list_query,
    parse_tail,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def query(**params: str) -> object:
    return parse_list_query("alice", {k: [v] for k, v in params.items()}, NOW, 100)


@pytest.mark.parametrize("value", ["²", "٣", "0", "-1", "1.5", " 0 ", "abc", "1" * 5000 + "x"])
def test_a_limit_that_is_not_a_positive_ascii_number_is_refused(value: str) -> None:
    with pytest.raises(InvalidSpec) as refused:
        query(limit=value)
    assert refused.value.field == "limit"


@pytest.mark.parametrize(
    ("value", "served"),
    # Surrounding whitespace is no part of a value, and a blank one no filter (issue 13).
    [("1", 1), ("100", 100), ("101", 100), ("9" * 5000, 100), (" 7\n", 7), ("", 100)],
)
def test_a_limit_over_the_page_size_is_served_as_the_page_size(value: str, served: int) -> None:
    assert query(limit=value).limit == served  # type: ignore[attr-defined]


def test_no_limit_is_one_page() -> None:
    assert query().limit == 100  # type: ignore[attr-defined]


def test_a_cursor_names_the_last_job_of_a_page() -> None:
    job = Job.create("alice", JobSpec(image="ubuntu", command="true"), Preset("p", 1, 10**9))
    at, job_id = parse_cursor(format_cursor(job))
    assert (at, job_id) == (job.created_at, job.id)
    assert query(cursor=format_cursor(job)).after == (job.created_at, job.id)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["x", "%%%", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMnxqb2ItMQ", "²"])
def test_a_cursor_this_server_did_not_make_is_refused(value: str) -> None:
    with pytest.raises(InvalidSpec) as refused:
        query(cursor=value)
    assert refused.value.field == "cursor"


def test_a_long_search_is_refused() -> None:
    with pytest.raises(InvalidSpec) as refused:
        query(q="x" * 257)
    assert refused.value.field == "q"


@pytest.mark.parametrize("value", ["TRUE", "Yes", "on", "1"])
def test_flags_in_any_case(value: str) -> None:
    assert parse_flag(value, "all") is True


@pytest.mark.parametrize("value", ["2", "yep", "t rue"])
def test_flags_are_exact(value: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_flag(value, "all")


@pytest.mark.parametrize("value", [" true", "true ", "\tYes\n"])
def test_surrounding_whitespace_is_no_part_of_a_flag(value: str) -> None:
    assert parse_flag(value, "all") is True  # issue 13: one rule for every value


NOW = datetime(2026, 1, 2, tzinfo=timezone.utc)


def a_job(**spec: object) -> Job:
    fields = {"image": "ubuntu", "command": "python train.py", **spec}
    return Job.create("alice", JobSpec(**fields), Preset("cpu", 1, 1 << 30), at=NOW)  # type: ignore[arg-type]


def test_an_event_stream_without_status_follows_every_status() -> None:
    assert parse_events_query("alice", {}, NOW).statuses is None
    assert parse_events_query("alice", {"all": ["false"]}, NOW).statuses is not None
    for key in ("limit", "cursor"):
        with pytest.raises(InvalidSpec) as caught:
            parse_events_query("alice", {key: ["1"]}, NOW)
        assert caught.value.field == key


def test_a_change_into_or_out_of_a_listed_status_matches() -> None:
    running = parse_events_query("alice", {"status": ["running"]}, NOW)
    job = a_job()  # pending
    assert not matches(job, None, running)
    assert matches(job, JobStatus.RUNNING, running)  # left running
    assert matches(job, None, parse_events_query("alice", {}, NOW))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": ["TRAIN"]}, True),
        ({"q": ["eval"]}, False),
        ({"tag": ["a"]}, True),
        ({"tag": ["a", "b"]}, False),
        ({"name": ["nice"]}, True),
        ({"name": ["other"]}, False),
        ({"owner": ["bob"]}, False),
        ({"since": ["2026-01-03"]}, False),
        ({"until": ["2026-01-03"]}, True),
    ],
)
def test_a_change_passes_the_filters_of_get_jobs(
    params: dict[str, list[str]], expected: bool
) -> None:
    job = a_job(name="nice", tags=("a",))
    assert matches(job, None, parse_events_query("alice", params, NOW)) is expected


@pytest.mark.parametrize(
    ("value", "lines"), [(None, None), ("", None), (" 20 ", 20), ("0", 0), ("1000000", 1000000)]
)
def test_tail_is_a_number_of_lines(value: str | None, lines: int | None) -> None:
    assert parse_tail(value) == lines


@pytest.mark.parametrize("value", ["-1", "1000001", "0000001", "x", "²", "1.5"])
def test_tail_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_tail(value)
    assert caught.value.field == "tail"
