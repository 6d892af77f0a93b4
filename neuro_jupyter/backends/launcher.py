"""The launcher: a warm fork server that starts runners in a millisecond (Linux).

Starting ``python -m neuro_jupyter.backends.runner`` costs an interpreter and
its imports, 50-100 ms, for every job. The launcher pays that once: a small,
single-threaded process with :mod:`.runner` already imported, listening on a
Unix socket. It keeps one child forked ahead (a spare, in a session of its own); each
request names a job folder, which the launcher hands to the spare, and the
spare becomes the runner as ``main`` does (:func:`.runner.run_detached`: lock
the folder, write ``runner.json``, run). The launcher answers once the child
said it wrote ``runner.json``, then forks the next spare. It never forks the
threaded server; its children are reaped by the kernel and live on without it.

Lifetime: :class:`LauncherClient` starts it on the first job (detached: its
own session, not the server's child), a clean server shutdown stops it, and
it ends on its own after ``idle_timeout`` seconds without a request or when
its jobs folder is gone (a server killed with SIGKILL leaves it behind; the
next server on the folder reuses it). Missing, dead or misbehaving, it costs
nothing but speed: the backend falls back to spawning the runner.

The socket lives in Linux's abstract namespace (no file, no path-length
limit), named after the jobs folder, the interpreter and these modules'
versions (an upgraded package gets a new launcher). Both ends check that the
other runs as the same user (``SO_PEERCRED``), and the launcher only starts
folders directly inside its jobs folder.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from .jobdir import JobDir
from .notify import SUPPORTED, address
from .runner import helper_environment, ready_code, run_detached

__all__ = ["LauncherClient", "LauncherFault", "main", "stop_launcher"]

IDLE_CHECK = 1.0
"""Seconds between the launcher's checks of its idle time and its folder."""
REQUEST_TIMEOUT = 10.0
"""Seconds a request may take; forking and writing ``runner.json`` take ~1 ms."""
LOG_NAME = "launcher.log"
_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


class LauncherFault(Exception):
    """The launcher took a request but gave no usable answer."""


@functools.cache
def _version() -> str:
    """The interpreter and the modules a launcher runs (their modification times)."""
    here = Path(__file__).parent
    names = ("launcher.py", "runner.py", "jobdir.py", "logs.py", "notify.py")
    stamps = [str((here / name).stat().st_mtime_ns) for name in names]
    return "\0".join([sys.executable, *stamps])


def launcher_address(jobs_dir: Path) -> str:
    """The launcher socket's name for ``jobs_dir`` and this version."""
    return address(jobs_dir, "launcher", _version())


def _peer_uid(sock: socket.socket) -> int:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    return int(_CREDS.unpack(raw)[1])


# The launcher process


def _read_line(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < 4096:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


class _Spare:
    """A forked child waiting for its folder: the launcher's ends of its two pipes."""

    def __init__(self, orders: int, ready: int) -> None:
        self.orders = orders
        self.ready = ready

    def hand_over(self, job_path: Path) -> int | None:
        """Give it ``job_path``; 0 once it claimed the folder, else 1; None if it was gone."""
        try:
            os.write(self.orders, os.fsencode(job_path))  # < PIPE_BUF: one write
        except BrokenPipeError:
            return None
        finally:
            self.close_orders()
        return ready_code(os.read(self.ready, 1))  # b"" if the child died first

    def close_orders(self) -> None:
        """Close the orders pipe: a spare not handed a folder yet exits."""
        if self.orders >= 0:
            os.close(self.orders)
            self.orders = -1

    def close(self) -> None:
        """Close both pipes (idempotent)."""
        self.close_orders()
        if self.ready >= 0:
            os.close(self.ready)
            self.ready = -1


def _fork_spare(inherited: Iterable[socket.socket]) -> _Spare:
    """Fork a child that waits, set up ahead, for the folder it will run.

    Forking (~2 ms here: page tables, the first copy-on-write faults) then
    happens between requests, not while a job waits. One fork, not two: the
    launcher ignores SIGCHLD, so the kernel reaps its children itself (no
    zombies, nothing to wait for), and they live on without it, reparented,
    if it ends. A spare whose orders pipe closes unused (the launcher ended)
    exits.
    """
    orders_r, orders_w = os.pipe()
    ready_r, ready_w = os.pipe()
    if os.fork():
        os.close(orders_r)
        os.close(ready_w)
        return _Spare(orders_w, ready_r)
    code = 1
    try:  # the child: never return into the launcher's loop
        os.close(orders_w)
        os.close(ready_r)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner waits for its command
        for sock in inherited:
            sock.close()
        os.setsid()
        order = b""
        while chunk := os.read(orders_r, 4096):
            order += chunk
        code = _become_runner(Path(os.fsdecode(order)), ready_w) if order else 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _become_runner(job_path: Path, ready_w: int) -> int:
    """In a spare: run ``job_path`` (output to its ``runner.log``), report on ``ready_w``."""
    log = os.open(job_path / "runner.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(job_path)
    return run_detached(JobDir(job_path), ready_w)


def _start_runner(job_path: Path, spare: _Spare, inherited: Iterable[socket.socket]) -> int:
    """Start the runner of ``job_path`` in ``spare``, or in a new child if it died idle."""
    code = spare.hand_over(job_path)
    spare.close()
    if code is None:
        fresh = _fork_spare(inherited)
        code = fresh.hand_over(job_path)
        fresh.close()
    return 1 if code is None else code


def _handle(conn: socket.socket, listener: socket.socket, jobs_dir: Path, spare: _Spare) -> bool:
    """Answer one request; False after ``quit``."""
    if _peer_uid(conn) != os.getuid():
        return True
    request = _read_line(conn)
    if request == "quit":
        conn.sendall(b"bye\n")
        return False
    job_path = Path(os.path.realpath(request))
    if job_path.parent != jobs_dir or not job_path.is_dir():
        conn.sendall(b"refused\n")
        return True
    code = _start_runner(job_path, spare, (listener, conn))
    conn.sendall(f"{code}\n".encode())
    return True


def serve(listener: socket.socket, jobs_dir: Path, idle_timeout: float) -> None:
    """Answer requests one at a time until ``quit``, idleness or the folder's end."""
    listener.settimeout(IDLE_CHECK)
    last = time.monotonic()
    spare: _Spare | None = None
    while True:
        if spare is None or spare.orders < 0:  # none, or used: see _fork_spare
            spare = _fork_spare([listener])
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            if time.monotonic() - last > idle_timeout or not jobs_dir.is_dir():
                return
            continue
        last = time.monotonic()
        with conn:
            conn.settimeout(REQUEST_TIMEOUT)
            try:
                if not _handle(conn, listener, jobs_dir, spare):
                    return
            except OSError:
                traceback.print_exc()  # one client's trouble is not the launcher's


def main(argv: list[str] | None = None) -> int:
    """``python -m neuro_jupyter.backends.launcher JOBS_DIR IDLE_TIMEOUT``.

    Binds the socket, forks, and returns in the parent at once (0: serving,
    or another launcher already serves the folder); the child serves.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not SUPPORTED:
        print("usage (Linux): python -m neuro_jupyter.backends.launcher DIR SEC", file=sys.stderr)
        return 2
    jobs_dir = Path(os.path.realpath(args[0]))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(launcher_address(jobs_dir))
    except OSError as e:
        return 0 if e.errno == errno.EADDRINUSE else 1
    listener.listen(128)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # see _fork_runner
    if os.fork() > 0:  # whoever started us waits for this parent only: no zombie
        os._exit(0)
    serve(listener, jobs_dir, float(args[1]))
    return 0


# The server's side


def stop_launcher(jobs_dir: Path, timeout: float = 2.0) -> bool:
    """Ask the launcher of ``jobs_dir`` to end; whether one answered. Blocking."""
    if not SUPPORTED:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(launcher_address(jobs_dir))
            if _peer_uid(sock) != os.getuid():
                return False
            sock.sendall(b"quit\n")
            return _read_line(sock) == "bye"
        except OSError:
            return False


class LauncherClient:
    """Asks the launcher of one jobs folder for runners; starts it when missing."""

    def __init__(self, jobs_dir: Path, idle_timeout: float) -> None:
        self.jobs_dir = jobs_dir
        self.idle_timeout = idle_timeout
        self._lock = asyncio.Lock()
        self._spawns = 0

    async def launch(self, job_dir: JobDir) -> int | None:
        """Start the runner of ``job_dir``: its launcher-side exit code.

        None where there can be no launcher (not Linux, or it would not start).

        Raises:
            LauncherFault: a launcher took the request but did not answer it.
        """
        if not SUPPORTED:
            return None
        path = os.path.realpath(job_dir.path)
        code = await self._request(path)
        if code is None:
            await self._spawn()
            code = await self._request(path)
        return code

    async def _request(self, path: str) -> int | None:
        """The launcher's answer; None if none listens (or not as this user)."""
        try:
            reader, writer = await asyncio.open_unix_connection(launcher_address(self.jobs_dir))
        except OSError:
            return None
        try:
            if _peer_uid(writer.get_extra_info("socket")) != os.getuid():
                return None
            writer.write(f"{path}\n".encode())
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            raise LauncherFault(f"the launcher did not answer: {e!r}") from e
        finally:
            writer.close()
        try:
            return int(line)
        except ValueError:
            raise LauncherFault(f"the launcher answered {line!r}") from None

    async def _spawn(self) -> None:
        """Start a launcher, once for concurrent callers."""
        seen = self._spawns
        async with self._lock:
            if seen == self._spawns:
                await asyncio.to_thread(self._spawn_blocking)
                self._spawns += 1

    def _spawn_blocking(self) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "neuro_jupyter.backends.launcher"]
        argv += [str(self.jobs_dir), str(self.idle_timeout)]
        with open(self.jobs_dir / LOG_NAME, "ab") as log:
            subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=helper_environment(os.environ), cwd="/", start_new_session=True,
                check=False, timeout=60,
            )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
