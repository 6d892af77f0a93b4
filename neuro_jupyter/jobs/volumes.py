"""Storage volumes: ``storage:PATH:/mount[:rw|ro]``.

Forms (DESIGN.md §2): ``storage::/mnt`` mounts the owner's storage root (source
``""``); ``storage:data/x:/mnt`` a path under it (source ``data/x``);
``storage:/OWNER/x:/mnt`` an absolute path (source ``/OWNER/x``, which needs
permission). The mode is ``rw`` (the default) or ``ro``.

Full URIs (``storage://CLUSTER/OWNER/x``) are rejected with a message that
shows the ``storage:/OWNER/x`` form: there is one cluster here, and a URI
naming another would be silently wrong.

The storage path is a URI path, as in Neu.ro: percent-escapes are decoded
(``storage:my%20dir:/d`` is the folder ``my dir``, ``%23`` is ``#``, ``%3A`` is
``:``), and a raw ``?`` or ``#`` is refused (write ``%3F``, ``%23``). The rules
below apply to the decoded path, so ``%2E%2E`` is ``..``; an escaped ``/``
(``%2F``) is refused, so a path cannot hide its own structure. A ``%`` not
followed by two hex digits is kept as it is; escapes must decode as UTF-8.
The mount path is a path inside the job, not a URI: it is taken literally.

Paths are normalised: repeated slashes, ``.`` parts and trailing slashes go, so
``storage:a/b/:/code/`` is ``Volume("a/b", "/code")``. ``..`` is refused in
both source and mount, so no volume reaches above the owner's storage root
(or, in the ``/OWNER/PATH`` form, above that owner's). Surrounding whitespace
of the whole value is ignored (see ``_text``); inside, it is part of the paths.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import quote as percent_quote
from urllib.parse import unquote

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec
from .model import Volume

__all__ = ["format_volume", "parse_volume", "parse_volume_data", "parse_volumes"]

FIELD = "volumes"
_FORM = "use storage:PATH:/MOUNT[:rw|ro], e.g. storage:data:/data:ro or storage::/home/me"


def _fail(value: str, problem: str) -> InvalidSpec:
    return InvalidSpec(FIELD, f"volume {quote(value)} is invalid: {problem}")


def _check_chars(path: str, what: str) -> str | None:
    for char in path:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            return f"the {what} contains a control character"
    return None


def _norm_parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


_ESCAPED_SLASH = re.compile("%2f", re.IGNORECASE)
# What format_volume leaves unescaped in a source: the rest is written %XX.
_SAFE = "/!$&'()*+,;=@-._~"


def _uri_problem(source: str) -> str:
    owner_path = source.lstrip("/").partition("/")[2] or "OWNER/PATH"
    return (
        f"full storage URIs are not supported: write storage:/{owner_path} for another user's path"
    )


def _decode_source(source: str) -> tuple[str, str | None]:
    """The percent-decoded storage path of the string form, and why it is invalid (or None)."""
    if source.startswith("//"):
        return source, _uri_problem(source)
    for char, escape in (("?", "%3F"), ("#", "%23")):
        if char in source:
            return source, f"the storage path contains {char!r}: write it as {escape}"
    if _ESCAPED_SLASH.search(source):
        return source, "the storage path contains an escaped '/' (%2F): write / itself"
    try:
        return unquote(source, errors="strict"), None
    except UnicodeDecodeError:
        return source, "the storage path has percent-escapes that are not UTF-8"


def _source_problem(source: str) -> tuple[str, str | None]:
    """The normalised (decoded) source, and why it is invalid (or None)."""
    if source.startswith("//"):
        return source, _uri_problem(source)
    problem = _check_chars(source, "storage path")
    if problem:
        return source, problem
    parts = _norm_parts(source)
    if ".." in parts:
        return source, "the storage path contains '..'"
    if source.startswith("/"):
        if not parts:
            return source, "the storage path '/' names no user: write storage:/OWNER/PATH"
        return "/" + "/".join(parts), None
    return "/".join(parts), None


def _mount_problem(mount: str) -> tuple[str, str | None]:
    """The normalised mount path, and why it is invalid (or None)."""
    if not mount.startswith("/"):
        return mount, f"the mount path {quote(mount)} must be absolute (start with '/')"
    problem = _check_chars(mount, "mount path")
    if problem:
        return mount, problem
    parts = _norm_parts(mount)
    if ".." in parts:
        return mount, "the mount path contains '..'"
    if not parts:
        return mount, "the mount path cannot be '/'"
    return "/" + "/".join(parts), None


def parse_volume(value: object) -> Volume:
    """Parse ``storage:PATH:/mount[:rw|ro]`` into a :class:`Volume`.

    Raises:
        InvalidSpec: ``volumes``, naming the rule the text breaks.
    """
    if not isinstance(value, str):
        raise InvalidSpec(FIELD, f"volume must be a string, not {type(value).__name__}")
    text = str(stripped(value))
    scheme, sep, rest = text.partition(":")
    if not sep or scheme != "storage":
        hint = " (only storage volumes exist here)" if scheme in ("disk", "secret") else ""
        raise _fail(value, f"{_FORM}{hint}")
    if rest.startswith("//"):
        raise _fail(value, _decode_source(rest.partition(":")[0])[1] or _FORM)
    parts = rest.split(":")
    if len(parts) not in (2, 3):
        raise _fail(value, _FORM)
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("rw", "ro"):
        raise _fail(value, f"mode {quote(mode)} is unknown: use rw or ro")
    source, problem = _decode_source(parts[0])
    if problem is not None:
        raise _fail(value, problem)
    return _build(value, source, parts[1], mode == "ro")


def _build(value: str, source: str, mount: str, read_only: bool) -> Volume:
    """The volume of a decoded ``source``, once both paths keep the rules."""
    source, problem = _source_problem(source)
    if problem is None:
        mount, problem = _mount_problem(mount)
    if problem is not None:
        raise _fail(value, problem)
    return Volume(source, mount, read_only)


def format_volume(volume: Volume) -> str:
    """Write a volume as ``storage:SOURCE:MOUNT:rw|ro``, the source percent-escaped
    where it must be (``%``, ``:``, ``?``, ``#``, spaces, ...); the inverse of
    :func:`parse_volume`."""
    mode = "ro" if volume.read_only else "rw"
    return f"storage:{percent_quote(volume.source, safe=_SAFE)}:{volume.mount}:{mode}"


_KEYS = frozenset({"source", "mount", "read_only"})


def parse_volume_data(value: object) -> Volume:
    """A volume from the REST spec: the string form, or an object
    ``{"source", "mount", "read_only"}`` (what ``JobSpec.to_json`` writes; its
    source is the decoded path, taken as it is).

    Raises:
        InvalidSpec: ``volumes``, naming the rule.
    """
    if isinstance(value, str):
        return parse_volume(value)
    if not isinstance(value, Mapping):
        raise InvalidSpec(
            FIELD, f"a volume must be a string or an object, not {type(value).__name__}"
        )
    unknown = sorted(str(key) for key in value if key not in _KEYS)
    if unknown:
        raise InvalidSpec(FIELD, f"unknown volume field {quote(unknown[0])}")
    source = value.get("source", "")
    mount = value.get("mount")
    read_only = value.get("read_only", False)
    if not isinstance(source, str) or not isinstance(mount, str):
        raise InvalidSpec(FIELD, "a volume object needs a string 'mount' and a string 'source'")
    if not isinstance(read_only, bool):
        raise InvalidSpec(FIELD, "a volume's 'read_only' must be true or false")
    return _build(f"storage:{source}:{mount}", source, mount, read_only)


def parse_volumes(values: object) -> tuple[Volume, ...]:
    """Parse a list of volumes (strings or objects); mount paths must be unique.

    Raises:
        InvalidSpec: ``volumes``: not a list, a bad volume, or a repeated mount path.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise InvalidSpec(FIELD, "volumes must be a list")
    volumes = tuple(parse_volume_data(item) for item in values)
    seen: set[str] = set()
    for volume in volumes:
        if volume.mount in seen:
            raise InvalidSpec(
                FIELD, f"mount path {quote(volume.mount)} is used twice: mount paths must be unique"
            )
        seen.add(volume.mount)
    return volumes
