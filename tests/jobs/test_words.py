"""split_words is shlex.split (issue 14: the same words, without its cost)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.words import split_words

TRICKY = st.text(alphabet=" \t\r\n'\"\\ab$é#\x0b", max_size=40)


def shlex_or_error(text: str) -> list[str] | str:
    try:
        return shlex.split(text)
    except ValueError as error:
        return str(error)


def ours_or_error(text: str) -> list[str] | str:
    try:
        return split_words(text)
    except ValueError as error:
        return str(error)


@given(TRICKY)
def test_the_same_words_and_errors_as_shlex(text: str) -> None:
    assert ours_or_error(text) == shlex_or_error(text)


@given(st.lists(st.text(max_size=10), max_size=6))
def test_it_reads_back_what_shlex_join_writes(words: list[str]) -> None:
    assert split_words(shlex.join(words)) == words


@pytest.mark.parametrize(
    "text",
    ['a \'b c\' "d \\" e" f\\ g', "''", "a''b", '"\\a\\\\"', "x\\\ny", "'unclosed", "trail\\"],
)
def test_examples(text: str) -> None:
    assert ours_or_error(text) == shlex_or_error(text)
