"""The bubblewrap argv, built from a fake host (no bwrap needed)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from neuro_jupyter.backends.local.sandbox import (
    Bind,
    HostEntry,
    SandboxError,
    bwrap_argv,
    check_mount_path,
    under_mount,
)

HOST = {
    "/": [
        HostEntry("bin", "usr/bin"),
        HostEntry("dev"),
        HostEntry("etc"),
        HostEntry("home"),
        HostEntry("proc"),
        HostEntry("tmp"),
        HostEntry("usr"),
    ],
    "/home": [HostEntry("alice"), HostEntry("bob")],
    "/home/alice": [HostEntry("notes")],
}


def scan(directory: str) -> Sequence[HostEntry]:
    return HOST.get(directory, [])


def pairs(argv: list[str], flag: str) -> list[tuple[str, ...]]:
    """The arguments following each ``flag``."""
    size = 1 if flag in ("--tmpfs", "--dir", "--chdir", "--proc", "--dev") else 2
    return [tuple(argv[i + 1 : i + 1 + size]) for i, a in enumerate(argv) if a == flag]


def test_the_host_is_bound_back_and_volumes_mounted() -> None:
    argv = bwrap_argv("bwrap", [Bind("/st/alice/code", "/code", read_only=True)], "/code", scan)
    assert argv[:3] == ["bwrap", "--tmpfs", "/"]
    assert pairs(argv, "--symlink") == [("usr/bin", "/bin")]
    bound = pairs(argv, "--bind-try")
    assert ("/usr", "/usr") in bound and ("/home", "/home") in bound and ("/tmp", "/tmp") in bound
    assert not [b for b in bound if b[0] in ("/proc", "/dev")]
    assert pairs(argv, "--proc") == [("/proc",)] and pairs(argv, "--dev") == [("/dev",)]
    assert pairs(argv, "--ro-bind") == [("/st/alice/code", "/code")]
    assert argv[-4:] == ["--chdir", "/code", "--new-session", "--"]
    assert "--die-with-parent" not in argv and "--unshare-pid" not in argv


def test_a_volume_inside_a_host_folder_rebuilds_that_folder() -> None:
    argv = bwrap_argv("bwrap", [Bind("/st/alice", "/home/alice/data")], "/", scan)
    # /home is not bound whole (bwrap would create the mount point on the host)...
    assert ("/home", "/home") not in pairs(argv, "--bind-try")
    assert ("/home",) in pairs(argv, "--dir") and ("/home/alice",) in pairs(argv, "--dir")
    # ...its other entries are.
    assert ("/home/bob", "/home/bob") in pairs(argv, "--bind-try")
    assert ("/home/alice/notes", "/home/alice/notes") in pairs(argv, "--bind-try")
    assert pairs(argv, "--bind") == [("/st/alice", "/home/alice/data")]


def test_a_volume_replacing_a_host_entry_hides_it() -> None:
    argv = bwrap_argv("bwrap", [Bind("/st/alice", "/etc")], "/", scan)
    assert ("/etc", "/etc") not in pairs(argv, "--bind-try")
    assert pairs(argv, "--bind") == [("/st/alice", "/etc")]


def test_nested_volumes_are_mounted_parents_first() -> None:
    binds = [Bind("/st/a/inner", "/data/inner", True), Bind("/st/a", "/data")]
    argv = bwrap_argv("bwrap", binds, "/", scan)
    assert argv.index("/data") < argv.index("/data/inner")


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ("relative", "absolute"),
        ("/a/../b", "absolute"),
        ("/a//b", "absolute"),
        ("/", "at /"),
        ("/proc/x", "under /proc"),
        ("/dev/shm", "under /dev"),
    ],
)
def test_bad_mount_paths(mount: str, message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        check_mount_path(mount)


def test_a_mount_under_a_host_symlink_is_refused() -> None:
    with pytest.raises(SandboxError, match="symbolic link"):
        bwrap_argv("bwrap", [Bind("/st", "/bin/tool")], "/", scan)


def test_under_mount() -> None:
    binds = [Bind("/s", "/code")]
    assert under_mount("/code", binds) and under_mount("/code/src", binds)
    assert not under_mount("/codex", binds) and not under_mount("/", binds)
