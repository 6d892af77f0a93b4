"""Owners' storage on this machine: ``<storage_root>/<owner>/...``.

A volume's source (``storage:SOURCE``) names a folder there; this module turns
it into a host path and refuses sources that would leave the owner's storage.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...jobs.errors import InvalidSpec
from ...jobs.model import Volume

__all__ = ["owner_root", "resolve_source"]

FIELD = "volumes"


def owner_root(storage_root: Path, owner: str) -> Path:
    """The folder holding ``owner``'s storage.

    Raises:
        InvalidSpec: the owner's name cannot be a folder name.
    """
    if not owner or "/" in owner or owner in (".", ".."):
        raise InvalidSpec(FIELD, f"user name {owner!r} cannot name a storage folder")
    return storage_root / owner


def resolve_source(storage_root: Path, owner: str, volume: Volume) -> Path:
    """The host folder behind ``volume``, symbolic links resolved.

    ``""`` is the owner's storage root, a relative source lies under it and
    ``/OWNER/PATH`` is absolute: only the owner's own storage is mounted here.

    Raises:
        InvalidSpec: another owner's storage, ``..``, or a path that resolves
            (through a symbolic link) outside the owner's storage.
    """
    source = volume.source
    shown = f"storage:{source}"
    parts = [p for p in source.split("/") if p not in ("", ".")]
    if source.startswith("/"):
        if not parts or parts[0] != owner:
            other = parts[0] if parts else "/"
            raise InvalidSpec(
                FIELD,
                f"{shown} is in another user's storage ({other}); "
                "the local runtime mounts only your own storage",
            )
        parts = parts[1:]
    if ".." in parts:
        raise InvalidSpec(FIELD, f"{shown} must not contain '..'")
    root = owner_root(storage_root, owner)
    real_root = os.path.realpath(root)
    real = os.path.realpath(root.joinpath(*parts))
    if real != real_root and not real.startswith(real_root + os.sep):
        raise InvalidSpec(FIELD, f"{shown} leads outside your storage (through a symbolic link)")
    return Path(real)
