"""Image references: Docker's reference grammar and Neu.ro's ``image:`` forms.

Docker: ``[HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST]`` where PATH is ``/``-separated
lowercase components (letters and digits joined by ``.``, ``_``, ``__`` or
dashes), the first component counts as a registry host when it holds ``.`` or
``:`` or is ``localhost``, a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`` and a
name is at most 255 characters.

Platform: ``image:NAME[:TAG]``, ``image:/PROJECT/NAME[:TAG]`` and
``image://CLUSTER/PROJECT/NAME[:TAG]``; ``image://CLUSTER/NAME`` is refused, as
Neu.ro refuses it (no project). ``image:latest`` alone is rejected as
ambiguous (a name, or a tag with no name?). Surrounding whitespace is ignored.
"""

from __future__ import annotations

import re

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec

__all__ = ["is_valid_image", "parse_image"]

FIELD = "image"
NAME_MAX = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")

_DOCKER_FORM = (
    "use [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST] with a lowercase NAME "
    "(e.g. python:3.12-slim or ghcr.io/org/app:v1), or image:NAME[:TAG]"
)


def _fail(value: str, problem: str) -> InvalidSpec:
    return InvalidSpec(FIELD, f"image {quote(value)} is invalid: {problem}")


def _split_tag(value: str, text: str) -> tuple[str, str | None]:
    """Split ``NAME[:TAG]``; the tag colon is the last one after the last ``/``."""
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon <= slash:
        return text, None
    name, tag = text[:colon], text[colon + 1 :]
    if not _TAG_RE.fullmatch(tag):
        raise _fail(
            value,
            f"tag {quote(tag)} is invalid: use up to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'",
        )
    return name, tag


def _check_path(value: str, path: str) -> None:
    if path.startswith("-"):
        raise _fail(value, "the name cannot start with '-'")
    if path != path.lower() and _PATH_RE.fullmatch(path.lower()):
        raise _fail(value, "the name must be lowercase")
    if not _PATH_RE.fullmatch(path):
        raise _fail(value, _DOCKER_FORM)


def _check_docker(value: str, text: str) -> None:
    name, at, digest = text.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        raise _fail(value, "the digest must be sha256: followed by 64 lowercase hex digits")
    name, _tag = _split_tag(value, name)
    if len(name) > NAME_MAX:
        raise _fail(value, f"the name is longer than {NAME_MAX} characters")
    first, slash, rest = name.partition("/")
    if slash and (("." in first or ":" in first) or first == "localhost"):
        if not _HOST_RE.fullmatch(first):
            raise _fail(value, f"registry host {quote(first)} is invalid")
        _check_path(value, rest)
    else:
        _check_path(value, name)


def _check_platform(value: str, rest: str) -> None:
    if rest.startswith("//"):
        cluster, slash, path = rest[2:].partition("/")
        if not _HOST_RE.fullmatch(cluster) or not slash:
            raise _fail(value, "use image://CLUSTER/PROJECT/NAME[:TAG]")
        if "/" not in path:  # Neu.ro: "no image name specified"
            raise _fail(
                value, "the project or the name is missing: use image://CLUSTER/PROJECT/NAME[:TAG]"
            )
        rest = path
    elif rest.startswith("/"):
        rest = rest[1:]
        if "/" not in rest:
            raise _fail(value, "use image:/PROJECT/NAME[:TAG]")
    if rest == "latest":
        raise _fail(value, "'image:latest' is ambiguous: write image:NAME or image:NAME:latest")
    name, _tag = _split_tag(value, rest)
    if not name:
        raise _fail(value, "the image name is missing: write image:NAME[:TAG]")
    if len(name) > NAME_MAX:
        raise _fail(value, f"the name is longer than {NAME_MAX} characters")
    _check_path(value, name)


def parse_image(value: object) -> str:
    """Check an image reference and return it with surrounding whitespace removed.

    Raises:
        InvalidSpec: ``image``: missing, not a string, or breaks the grammar.
    """
    if not isinstance(value, str):
        raise InvalidSpec(FIELD, f"image must be a string, not {type(value).__name__}")
    text = str(stripped(value))
    if not text:
        raise InvalidSpec(FIELD, "image is required: e.g. python:3.12-slim")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise _fail(value, "it may hold only printable ASCII characters without spaces")
    if text.startswith("image:"):
        _check_platform(value, text[len("image:") :])
    else:
        _check_docker(value, text)
    return text


def is_valid_image(value: object) -> bool:
    """Whether :func:`parse_image` accepts ``value``."""
    try:
        parse_image(value)
    except InvalidSpec:
        return False
    return True
