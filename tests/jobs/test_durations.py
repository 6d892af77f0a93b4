"""The duration grammar, life spans and ``--since`` times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.durations import (
    MAX_DURATION,
    format_duration,
    format_life_span,
    localize_time,
    parse_duration,
    parse_life_span,
    parse_since,
)
from neuro_jupyter.jobs.errors import InvalidSpec

from .strategies import durations

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2d3h20min", 2 * 86400 + 3 * 3600 + 20 * 60),
        ("2d3h20m", 2 * 86400 + 3 * 3600 + 20 * 60),
        ("1d", 86400),
        ("2h", 7200),
        ("20min", 1200),
        ("45s", 45),
        ("1h1s", 3601),
        ("0", 0),
        ("0s", 0),
        ("90m", 5400),
        (" 1d", 86400),  # surrounding whitespace is no part of a value (issue 13)
        ("1d\n", 86400),
        ("\t2h\u00a0", 7200),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "life_span") == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "1h1d", "1 h", "1 h ", "1H", "1.5h", "-1h", "d", "1w", "10", "1m2min", "\uff11h"],
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_duration(text, "life_span")
    assert info.value.field == "life_span"
    assert "in that order, no spaces" in str(info.value)


def test_duration_too_long() -> None:
    with pytest.raises(InvalidSpec, match="too long: at most 36500d"):
        parse_duration("36501d", "life_span")
    with pytest.raises(InvalidSpec, match="too long"):
        parse_duration("9" * 40 + "s", "life_span")
    assert parse_duration("36500d", "life_span") == MAX_DURATION


def test_duration_wrong_type() -> None:
    with pytest.raises(InvalidSpec, match="must be a string, not int"):
        parse_duration(5, "x")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0"),
        (45, "45s"),
        (2 * 86400 + 3 * 3600 + 1200, "2d3h20m"),
        (86400, "1d"),
        (3661, "1h1m1s"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(-1)


@given(durations)
def test_duration_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds), "life_span") == seconds
    assert parse_life_span(format_life_span(seconds)) == seconds


@given(st.text(max_size=20))
def test_junk_durations(text: str) -> None:
    try:
        assert parse_duration(text, "f") >= 0
    except InvalidSpec as error:
        assert error.field == "f"


@pytest.mark.parametrize(
    ("value", "seconds"), [("1d", 86400), (0, 0), ("0", 0), (3600, 3600), (3600.0, 3600)]
)
def test_life_spans(value: object, seconds: int) -> None:
    assert parse_life_span(value) == seconds


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-1, "cannot be negative"),
        (1.5, "whole seconds"),
        (float("nan"), "whole seconds"),
        (float("inf"), "whole seconds"),
        (True, "not bool"),
        (None, "not NoneType"),
        ("1x", "in that order"),
        (MAX_DURATION + 1, "too long"),
    ],
)
def test_bad_life_spans(value: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_life_span(value)
    assert info.value.field == "life_span"
    assert words in str(info.value)


def test_format_life_span_no_limit() -> None:
    assert format_life_span(0) == "0"
    assert format_life_span(86400) == "1d"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("1d12h", NOW - timedelta(days=1, hours=12)),
        ("0", NOW),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=timezone.utc)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        (" 2h ", NOW - timedelta(hours=2)),
        ("2024-05", datetime(2024, 5, 1, tzinfo=timezone.utc)),  # a month, as Neu.ro
        (" 2024-05\n", datetime(2024, 5, 1, tzinfo=timezone.utc)),
    ],
)
def test_since(text: str, moment: datetime) -> None:
    result = parse_since(text, NOW)
    assert result == moment
    assert result is not None and result.tzinfo == timezone.utc


@pytest.mark.parametrize("text", ["", " ", "\n\t"])
def test_an_empty_since_is_no_bound(text: str) -> None:
    assert parse_since(text, NOW) is None


def test_a_naive_time_is_read_in_the_given_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    expected = datetime(2024, 1, 2, 1, 4, 5, tzinfo=timezone.utc)
    assert parse_since("2024-01-02T03:04:05", NOW, zone=plus2) == expected
    assert parse_since("2024-01-02T03:04:05Z", NOW, zone=plus2) == expected + timedelta(hours=2)
    assert parse_since("2h", NOW, zone=plus2) == NOW - timedelta(hours=2)


def test_a_naive_time_is_read_as_local_time_with_no_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, no daylight saving
    time.tzset()
    try:
        assert parse_since("2024-01-02T05:34:05", NOW, zone=None) == datetime(
            2024, 1, 2, 0, 4, 5, tzinfo=timezone.utc
        )
        assert parse_since("2024-05", NOW, zone=None) == datetime(
            2024, 4, 30, 18, 30, tzinfo=timezone.utc
        )
    finally:
        monkeypatch.undo()
        time.tzset()


def test_since_naive_now_is_utc() -> None:
    assert parse_since("1h", NOW.replace(tzinfo=None)) == NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("2024-01-02T05:34:05", "2024-01-02T00:04:05+00:00"),
        (" 2024-05\n", "2024-04-30T18:30:00+00:00"),
        ("2024-05-01", "2024-04-30T18:30:00+00:00"),
        ("2024-05-01T00:00Z", "2024-05-01T00:00Z"),  # a zone: sent as typed
        ("2024-05-01T00:00+02:00", "2024-05-01T00:00+02:00"),
        (" 1d2h ", "1d2h"),
        ("", ""),
        ("yesterday", "yesterday"),  # the server judges it
    ],
)
def test_a_client_sends_its_local_time_with_its_zone(
    monkeypatch: pytest.MonkeyPatch, text: str, sent: str
) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, no daylight saving
    time.tzset()
    try:
        assert localize_time(text) == sent
        if text != "yesterday":  # and it means the same moment to the server
            assert parse_since(sent, NOW) == parse_since(text, NOW, zone=None)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2024-13-01",
        "2024-13",
        "2024-00",
        "0000-01",
        "2024-5",
        "3600",
        "1h1d",
        "0001-01-01T00:00:00+05:00",
    ],
)
def test_bad_since(text: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_since(text, NOW, field="until")
    assert info.value.field == "until"


def test_since_too_far_back() -> None:
    early = datetime(1, 1, 2, tzinfo=timezone.utc)
    with pytest.raises(InvalidSpec, match="out of range"):
        parse_since("36500d", early)


@given(st.text(max_size=30))
def test_junk_since(text: str) -> None:
    try:
        result = parse_since(text, NOW)
        assert result is None if not text.strip() else result.tzinfo == timezone.utc
    except InvalidSpec as error:
        assert error.field == "since"
