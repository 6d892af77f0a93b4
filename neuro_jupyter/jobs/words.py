"""``shlex.split`` at the speed of ``re``: a job's command as words.

``shlex`` reads a string one character at a time in Python: a 64 KiB command
took 65 ms to split, on the event loop, three times per job (issue 14). This
tokenizer gives exactly ``shlex.split(text)`` (POSIX rules, no comments) and
the same ``ValueError`` messages, with one regular expression; the tests
compare the two on generated strings.
"""

from __future__ import annotations

import functools
import re

__all__ = ["split_words"]

_WHITESPACE = " \t\r\n"
_TOKEN = re.compile(
    r"""(?P<plain>[^ \t\r\n'"\\]+)"""
    r"""|'(?P<single>[^']*)'"""
    r'''|"(?P<double>(?:[^"\\]|\\.)*)"'''
    r"""|\\(?P<escaped>.)"""
    r"""|(?P<space>[ \t\r\n]+)"""
    r"""|(?P<bad>.)""",
    re.S,
)
_IN_DOUBLE = re.compile(r"\\(.)", re.S)
_IN_DOUBLE_REST = re.compile(r'(?:[^"\\]|\\.)*', re.S)


def _unescape_double(match: re.Match[str]) -> str:
    # Inside double quotes a backslash escapes only '"' and itself (shlex's rule).
    char = match.group(1)
    return char if char in '"\\' else "\\" + char


def _error(text: str, bad: re.Match[str]) -> str:
    """shlex's complaint about what the tokens could not match at ``bad``."""
    if bad.group() == "\\":
        return "No escaped character"
    if bad.group() == '"':
        # An unclosed double quote whose text ends in a lone backslash.
        rest = _IN_DOUBLE_REST.match(text, bad.end())
        if rest is not None and rest.end() < len(text):
            return "No escaped character"
    return "No closing quotation"


def split_words(text: str) -> list[str]:
    """``shlex.split(text)``, fast.

    Raises:
        ValueError: "No closing quotation" or "No escaped character", as shlex.
    """
    return list(_split_words(text))


# A job's command is split where its spec is parsed, again where the backend
# checks it and where it starts it: ~0.7 ms each for a 64 KiB command (issue
# 14). The same string object comes each time, so a hit costs no comparison.
@functools.lru_cache(maxsize=16)
def _split_words(text: str) -> tuple[str, ...]:
    if not any(char in text for char in "'\"\\"):
        return tuple(word for word in re.split(r"[ \t\r\n]+", text) if word)
    words: list[str] = []
    word: list[str] | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            if word is not None:
                words.append("".join(word))
                word = None
            continue
        if kind == "bad":
            raise ValueError(_error(text, match))
        if word is None:
            word = []
        value = match.group(kind or "plain")
        if kind == "double":
            value = _IN_DOUBLE.sub(_unescape_double, value)
        word.append(value)
    if word is not None:
        words.append("".join(word))
    return tuple(words)
