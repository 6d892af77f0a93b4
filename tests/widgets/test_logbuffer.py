"""LogBuffer: ``\\r`` collapsed as a notebook shows it, the tail kept within bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.render.terminal import compact_carriage_returns
from neuro_jupyter.widgets.logbuffer import LogBuffer


def fed(*pieces: str, **bounds: int) -> LogBuffer:
    buffer = LogBuffer(**bounds)
    for piece in pieces:
        buffer.feed(piece)
    return buffer


def test_lines_pass_through() -> None:
    assert fed("a\nb\n", "c").text == "a\nb\nc"


def test_a_progress_bar_stays_one_line_across_pieces() -> None:
    buffer = fed("start\n", "10%\r", "20%\r", "30%", "\r40%\r", "done\n", "end\n")
    assert buffer.text == "start\ndone\nend\n"


def test_an_overwritten_line_shows_its_last_frame_until_overwritten() -> None:
    assert fed("10%\r20%\r").text == "20%"
    assert fed("10%\r20%\r", "3").text == "3"


def test_windows_line_endings_are_lines() -> None:
    assert fed("a\r\nb\r\n").text == "a\nb\n"


def test_only_the_last_lines_are_kept() -> None:
    buffer = fed("".join(f"line {i}\n" for i in range(1000)), max_lines=10)
    assert buffer.text.splitlines() == [f"line {i}" for i in range(990, 1000)]
    assert buffer.dropped == 990


def test_characters_are_bounded_too() -> None:
    buffer = fed(*("x" * 99 + "\n" for _ in range(100)), max_chars=1000)
    assert len(buffer.text) <= 1000
    assert buffer.dropped == 90
    assert len(buffer) == len(buffer.text)


def test_a_line_without_end_is_cut_to_its_tail() -> None:
    buffer = fed(*("0123456789" for _ in range(10_000)), max_chars=50)
    assert buffer.text == "0123456789" * 5


def test_bounds_must_keep_something() -> None:
    with pytest.raises(ValueError):
        LogBuffer(max_lines=0)


pieces = st.lists(st.text(alphabet="ab\r\n", max_size=12), max_size=12)


@given(pieces)
def test_pieces_show_what_the_whole_text_shows(chunks: list[str]) -> None:
    """However the stream is cut, the buffer shows what the whole text would."""
    whole = compact_carriage_returns("".join(chunks)).split("\n")
    expected = "\n".join(line.strip("\r") for line in whole)
    assert fed(*chunks).text == expected


@given(pieces, st.integers(1, 5), st.integers(1, 20))
def test_bounds_hold_for_any_stream(chunks: list[str], lines: int, chars: int) -> None:
    buffer = fed(*chunks, max_lines=lines, max_chars=chars)
    assert buffer.text.count("\n") <= lines
    assert len(buffer.text) <= chars
