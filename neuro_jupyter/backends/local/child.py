"""The runner's child: a job's command started with ``os.posix_spawn``.

``subprocess.Popen`` costs a forked runner about twice what ``posix_spawn``
does (~1.5 ms against ~0.7 ms for the first command here): its Python set-up,
its error pipe, closing every descriptor in the child. glibc's
``posix_spawn`` is one ``clone(CLONE_VM | CLONE_VFORK)`` and an ``execve``,
and reports a failed ``execve`` as an ``OSError``, as ``Popen`` does.

What ``Popen`` did and this keeps: the command looked up on the ``PATH`` of
its own environment, its working directory (the runner changes into it for
the spawn and back), a session of its own, stdin from ``/dev/null``, stdout
and stderr into one pipe, and SIGPIPE/SIGXFSZ back to their defaults. Instead
of closing every descriptor in the child, the runner marks the few it holds
non-inheritable (:func:`seal_descriptors`); Python opens none inheritable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

__all__ = ["Child", "seal_descriptors", "spawn"]

_DEFAULT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)
"""Python ignores these; a command gets them back at their defaults (as Popen does)."""


class Child:
    """A started command: its pid and the read end of its output pipe.

    ``poll``/``wait``/``returncode`` read as ``Popen``'s: a command killed by
    signal ``n`` has ``returncode`` ``-n``.
    """

    def __init__(self, pid: int, stdout: int) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None

    def _reap(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): as Popen
                pid, status = self.pid, 0
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        """The return code if the command ended, else None (never blocks)."""
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the command to end; its return code.

        Raises:
            subprocess.TimeoutExpired: it still ran after ``timeout`` seconds.
        """
        if timeout is None:
            code = self._reap(0)
            assert code is not None
            return code
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while (code := self.poll()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.05)
        return code

    def close(self) -> None:
        """Close the output pipe (idempotent)."""
        if self.stdout >= 0:
            os.close(self.stdout)
            self.stdout = -1


def _executable(name: str, env: Mapping[str, str]) -> str:
    """``name`` found on the ``PATH`` of ``env`` (relative entries: from the cwd).

    Raises:
        FileNotFoundError: found nowhere.
        PermissionError: found, but not executable.
    """
    if os.path.dirname(name):
        return name
    denied = None
    for folder in os.get_exec_path(env):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            if os.access(path, os.X_OK):
                return path
            denied = denied or path
    if denied is not None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), denied)
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> Child:
    """Start ``argv`` in ``cwd`` in a session of its own, output into one pipe.

    Raises:
        OSError: ``cwd`` or the program is missing, or it cannot be executed.
    """
    try:
        home = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        home = -1
    read, write = os.pipe()
    try:
        os.chdir(cwd)
        pid = os.posix_spawn(
            _executable(argv[0], env), list(argv), env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, write, 1),
                (os.POSIX_SPAWN_DUP2, write, 2),
            ],
            setsid=True, setsigdef=_DEFAULT_SIGNALS,
        )  # fmt: skip
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
        if home >= 0:
            with contextlib.suppress(OSError):
                os.fchdir(home)  # the runner stays out of the job's working dir
            os.close(home)
    return Child(pid, read)


def seal_descriptors() -> None:
    """Make every open descriptor above stderr non-inheritable.

    Python opens none inheritable; this covers any a parent passed down, so
    no command gets a descriptor it was not meant to (``Popen``'s ``close_fds``).
    """
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2:
                with contextlib.suppress(OSError):
                    if os.get_inheritable(fd):
                        os.set_inheritable(fd, False)
