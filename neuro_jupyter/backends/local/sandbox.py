"""The bubblewrap command line that shows a job its volumes at their mount paths.

Pure: the host's directories come in through a ``scan`` function, so the argv
is testable without bubblewrap. The recipe (see the local sandbox notes): an
empty tmpfs root, every host entry bound back in, ``/proc`` and ``/dev`` made
fresh, then each volume. A host directory that has a volume somewhere below it
is rebuilt inside the tmpfs (its children bound one by one) instead of bound
whole: bwrap creates missing mount points, and doing that inside a bound host
directory would create them *on the host*.

Not used: ``--die-with-parent`` (jobs outlive the Jupyter server) and
``--unshare-pid`` (the runner watches the job's processes from outside).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Bind",
    "HostEntry",
    "SandboxError",
    "bwrap_argv",
    "check_mount_path",
    "scan_host",
    "under_mount",
]

_FRESH = ("proc", "dev")
"""Top-level entries the sandbox makes anew rather than binding."""


class SandboxError(ValueError):
    """A mount the sandbox cannot provide; the message is safe to show."""


@dataclass(frozen=True)
class HostEntry:
    """One entry of a host directory."""

    name: str
    symlink: str | None = None
    """The link's target when the entry is a symbolic link."""


@dataclass(frozen=True)
class Bind:
    """A host directory shown inside the sandbox at ``mount``."""

    source: str
    mount: str
    read_only: bool = False


Scan = Callable[[str], Sequence[HostEntry]]
"""Lists a host directory (absolute path) as :class:`HostEntry` values."""


def scan_host(directory: str) -> list[HostEntry]:
    """The real :data:`Scan`: ``directory``'s entries, sorted, links kept as links."""
    entries = []
    with os.scandir(directory) as it:
        for entry in it:
            target = os.readlink(entry.path) if entry.is_symlink() else None
            entries.append(HostEntry(entry.name, target))
    return sorted(entries, key=lambda e: e.name)


def check_mount_path(mount: str) -> None:
    """Refuse mount paths the sandbox cannot or must not provide.

    Raises:
        SandboxError: not absolute and normal, the root, or under /proc or /dev.
    """
    if not mount.startswith("/") or posixpath.normpath(mount) != mount or ".." in mount:
        raise SandboxError(f"mount path {mount!r} must be an absolute path without '..'")
    if mount == "/":
        raise SandboxError("a volume cannot be mounted at /")
    top = mount.split("/")[1]
    if top in _FRESH:
        raise SandboxError(f"a volume cannot be mounted under /{top}")


def _host_binds(directory: str, mounts: Sequence[str], scan: Scan) -> list[str]:
    args: list[str] = []
    for entry in scan(directory):
        path = posixpath.join(directory, entry.name)
        if (directory == "/" and entry.name in _FRESH) or path in mounts:
            continue
        below = any(m.startswith(path + "/") for m in mounts)
        if entry.symlink is not None:
            if below:
                raise SandboxError(
                    f"a volume cannot be mounted under {path}: it is a symbolic link here"
                )
            args += ["--symlink", entry.symlink, path]
        elif below:
            args += ["--dir", path, *_host_binds(path, mounts, scan)]
        else:
            # -try: an entry removed since the scan (a temp file) is no error.
            args += ["--bind-try", path, path]
    return args


def bwrap_argv(
    bwrap: str,
    binds: Sequence[Bind],
    workdir: str,
    scan: Scan = scan_host,
) -> list[str]:
    """The bwrap argv up to and including ``--``; append the command after it.

    Raises:
        SandboxError: a mount path is refused (see :func:`check_mount_path`) or
            lies under a host symbolic link.
    """
    for bind in binds:
        check_mount_path(bind.mount)
    mounts = [b.mount for b in binds]
    argv = [bwrap, "--tmpfs", "/", *_host_binds("/", mounts, scan)]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    # Parents before children, so a volume inside another volume stays visible.
    for bind in sorted(binds, key=lambda b: b.mount.count("/")):
        argv += ["--ro-bind" if bind.read_only else "--bind", bind.source, bind.mount]
    # --new-session: the job cannot reach a terminal through TIOCSTI.
    argv += ["--chdir", workdir, "--new-session", "--"]
    return argv


def under_mount(path: str, binds: Sequence[Bind]) -> bool:
    """Whether ``path`` (inside the sandbox) is a mount path or below one."""
    return any(path == b.mount or path.startswith(b.mount.rstrip("/") + "/") for b in binds)
