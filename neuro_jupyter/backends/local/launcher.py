"""The launcher: a warm fork server that starts runners in a millisecond (Linux).

Starting ``python -m neuro_jupyter.backends.local.runner`` costs an interpreter and
its imports, 50-100 ms, for every job. The launcher pays that once: a small,
single-threaded process with :mod:`.runner` already imported, listening on a
Unix socket. It keeps one child forked ahead (a spare, in a session of its
own, with what a runner can do before it knows its folder done:
:func:`.runner.prepare`). The spare itself takes the next request, which
names a job folder, and becomes its runner as ``main`` does
(:func:`.runner.run_detached`: lock the folder, write ``runner.json``, answer,
run): the request wakes the runner-to-be, not a middleman. Once that runner
started its command the launcher forks the next spare. It never forks the
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
import contextlib
import errno
import functools
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .jobdir import JobDir, RunnerInfo
from .notify import SUPPORTED, address
from .runner import helper_environment, prepare, rehearse, run_detached

__all__ = ["LauncherClient", "LauncherFault", "main", "stop_launcher"]

IDLE_CHECK = 1.0
"""Seconds between the launcher's checks of its idle time and its folder."""
START_WAIT = 0.1
"""Seconds the next spare's fork may wait for the last runner to start its command."""
FORK_DELAY = 0.002
"""Seconds between a runner's start of its command and the next spare's fork: a
fast command's first output reaches the server meanwhile (5 ms left back-to-back
jobs waiting for the spare's rehearsal; 0 slowed the output)."""
REQUEST_MAX = 1 << 20
"""Bytes a start request may take (the job's environment travels in it)."""
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
    names = ("launcher.py", "runner.py", "child.py", "jobdir.py", "notify.py")
    shared = ("logs.py", "environment.py")  # in backends/, beside this package
    paths = [here / name for name in names] + [here.parent / name for name in shared]
    stamps = [str(path.stat().st_mtime_ns) for path in paths]
    return "\0".join([sys.executable, *stamps])


def launcher_address(jobs_dir: Path) -> str:
    """The launcher socket's name for ``jobs_dir`` and this version."""
    return address(jobs_dir, "launcher", _version())


def _peer_uid(sock: socket.socket) -> int:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    return int(_CREDS.unpack(raw)[1])


# The launcher process


def _read_line(conn: socket.socket, limit: int = 4096) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


class _Spare:
    """A forked child set up ahead, taking the next request itself: the launcher's pipe ends.

    It writes ``t`` on ``news`` when it took a job (then the pipe ends once
    that job's command started: :func:`.runner.run_detached`), ``q`` when
    asked to quit; the pipe ends early if it dies. Closing ``alive`` ends a
    spare that took nothing.
    """

    def __init__(self, news: int, alive: int) -> None:
        self.news = news
        self.alive = alive

    def close(self) -> None:
        """Close both ends (idempotent)."""
        for fd in (self.news, self.alive):
            if fd >= 0:
                os.close(fd)
        self.news = self.alive = -1


def _fork_spare(listener: socket.socket, jobs_dir: Path, held: Iterable[int]) -> _Spare:
    """Fork a child that accepts the next request on ``listener`` and becomes its runner.

    One hop less than handing the request over: the server's request wakes
    the runner-to-be itself. Forking (~1-2 ms: page tables, the first
    copy-on-write faults) happens between requests. One fork, not two: the
    launcher ignores SIGCHLD, so the kernel reaps its children itself (no
    zombies, nothing to wait for), and they live on without it, reparented,
    if it ends. ``held`` are the launcher's descriptors the child must not keep.
    """
    news_r, news_w = os.pipe()
    alive_r, alive_w = os.pipe()
    if os.fork():
        os.close(news_w)
        os.close(alive_r)
        return _Spare(news_r, alive_w)
    code = 1
    try:  # the child: never return into the launcher's loop
        os.close(news_r)
        os.close(alive_w)
        for fd in held:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner waits for its command
        os.setsid()
        code = _spare(listener, jobs_dir, news_w, alive_r)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _spare(listener: socket.socket, jobs_dir: Path, news_w: int, alive_r: int) -> int:
    """In a spare: prepare and rehearse, then answer requests until one names a job; run it."""
    me = prepare()

    def called() -> bool:  # a request waits: it goes first
        return bool(select.select([listener.fileno()], [], [], 0)[0])

    rehearse(jobs_dir / f".spare-{os.getpid()}", called)
    listener.setblocking(False)
    while True:
        readable, _, _ = select.select([listener.fileno(), alive_r], [], [])
        if alive_r in readable:
            return 0  # the launcher ended, or let this spare go
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            continue
        conn.setblocking(True)
        conn.settimeout(REQUEST_TIMEOUT)
        try:
            job = _job_request(conn, jobs_dir, news_w)
        except _Quit:
            return 0
        except OSError:
            traceback.print_exc()  # one client's trouble is not the launcher's
            job = None
        if job is None:
            conn.close()
            continue
        listener.close()
        os.close(alive_r)
        os.write(news_w, b"t")
        return _become_runner(*job, conn, news_w, me)


class _Quit(Exception):
    """A ``quit`` request, answered: the spare ends, and the launcher with it."""


def _job_request(
    conn: socket.socket, jobs_dir: Path, news_w: int
) -> tuple[Path, dict[str, Any] | None] | None:
    """The job folder ``conn`` asks to start and the order sent with it, if any.

    A request is the folder's path, or JSON with it as ``dir`` and the
    runner's ``launch`` and ``env`` (:meth:`LauncherClient.launch`). Other
    requests are answered here.
    """
    if _peer_uid(conn) != os.getuid():
        return None
    request = _read_line(conn, REQUEST_MAX)
    if request == "quit":
        os.write(news_w, b"q")
        conn.sendall(b"bye\n")
        raise _Quit
    order = None
    if request.startswith("{"):
        try:
            order = json.loads(request)
            request = str(order.pop("dir"))
        except (ValueError, KeyError, AttributeError):
            request = ""
    job_path = Path(os.path.realpath(request))
    if not request or job_path.parent != jobs_dir or not job_path.is_dir():
        conn.sendall(b"refused\n")
        return None
    return job_path, order


def _become_runner(
    job_path: Path, order: dict[str, Any] | None, conn: socket.socket, news_w: int, me: RunnerInfo
) -> int:
    """In a spare: run ``job_path`` (output to its ``runner.log``); answer ``conn`` once claimed."""
    log = os.open(job_path / "runner.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(job_path)

    def answer(claimed: bool) -> None:
        # 0 either way: claimed here, or by the runner already holding the folder.
        with conn, contextlib.suppress(OSError):  # the server gave up: the job runs anyway
            conn.sendall(b"0\n")

    return run_detached(JobDir(job_path), answer, news_w, me, order)


class _Launcher:
    """The serving loop's state: the spare, and the runners still starting their command."""

    def __init__(self, listener: socket.socket, jobs_dir: Path) -> None:
        self.listener = listener
        self.jobs_dir = jobs_dir
        self.spare: _Spare | None = None
        self.starting: list[int] = []
        """The ``news`` ends of runners that took a job and have not started its command."""
        self.fork_at = 0.0
        """When the next spare may be forked (:meth:`step`)."""

    def _fork_due(self, now: float) -> bool:
        return self.spare is None and now >= self.fork_at

    def _timeout(self, now: float) -> float:
        if self.spare is not None:
            return IDLE_CHECK
        return max(0.0, min(self.fork_at - now, IDLE_CHECK))

    def step(self) -> tuple[bool, bool]:
        """Wait for news once; (quit asked, something happened)."""
        now = time.monotonic()
        if self._fork_due(now):
            self.spare = _fork_spare(self.listener, self.jobs_dir, self.starting)
        listening = self.listener.fileno()
        watched = [*self.starting, listening if self.spare is None else self.spare.news]
        readable, _, _ = select.select(watched, [], [], self._timeout(now))
        now = time.monotonic()
        if listening in readable:
            self.fork_at = now  # a request and no spare: fork one for it at once
        for fd in [fd for fd in self.starting if fd in readable]:
            if not os.read(fd, 1):  # ended: its command started (or it died)
                self._started(fd, now + FORK_DELAY)
        spare = self.spare
        if spare is not None and spare.news in readable:
            what = os.read(spare.news, 1)
            if what == b"q":
                return True, True
            if what == b"t":
                self.starting.append(spare.news)
                self.fork_at = now + START_WAIT
                spare.news = -1
            else:  # it died idle: its successor waits, unless a request comes
                self.fork_at = now + IDLE_CHECK
            spare.close()
            self.spare = None
        return False, bool(readable)

    def _started(self, fd: int, fork_at: float) -> None:
        """A runner started its command: the next spare may come ``FORK_DELAY`` later."""
        self.starting.remove(fd)
        os.close(fd)
        if not self.starting:
            self.fork_at = min(self.fork_at, fork_at)

    def close(self) -> None:
        """Let the spare go and forget the starting runners."""
        if self.spare is not None:
            self.spare.close()
        for fd in self.starting:
            os.close(fd)
        self.starting.clear()


def serve(listener: socket.socket, jobs_dir: Path, idle_timeout: float) -> None:
    """Keep a spare taking requests until ``quit``, idleness or the folder's end.

    After a spare took a job, the next one is forked once that job's command
    started, :data:`FORK_DELAY` later (or :data:`START_WAIT` after the take):
    forking while the runner starts its command slowed that start several
    times over on two CPUs. A request meanwhile gets a spare forked at once.
    """
    launcher = _Launcher(listener, jobs_dir)
    last = time.monotonic()
    try:
        while True:
            quit_asked, busy = launcher.step()
            if quit_asked:
                return
            now = time.monotonic()
            if busy:
                last = now
            elif now - last > idle_timeout or not jobs_dir.is_dir():
                return
    finally:
        launcher.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m neuro_jupyter.backends.local.launcher JOBS_DIR IDLE_TIMEOUT``.

    Binds the socket, forks, and returns in the parent at once (0: serving,
    or another launcher already serves the folder); the child serves.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not SUPPORTED:
        usage = "usage (Linux): python -m neuro_jupyter.backends.local.launcher DIR SEC"
        print(usage, file=sys.stderr)
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
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # see _fork_spare
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


async def _answer(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    """One line from ``sock`` (non-blocking), or what came before its end."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = await loop.sock_recv(sock, 256)
        if not chunk:
            break
        data += chunk
    return data


class LauncherClient:
    """Asks the launcher of one jobs folder for runners; starts it when missing."""

    def __init__(self, jobs_dir: Path, idle_timeout: float) -> None:
        self.jobs_dir = jobs_dir
        self.idle_timeout = idle_timeout
        self._lock = asyncio.Lock()
        self._spawns = 0

    async def launch(
        self,
        job_dir: JobDir,
        order: Mapping[str, Any] | None = None,
        sent: Callable[[], None] | None = None,
    ) -> int | None:
        """Start the runner of ``job_dir``: its launcher-side exit code.

        ``order`` (``launch`` and ``env``, as :meth:`.JobFiles.order` makes
        them) goes with the request, so the runner reads no files; ``sent``
        is called once the request left, before its answer (the server
        writes the folder's files meanwhile), and not if none did.

        None where there can be no launcher (not Linux, or it would not start).

        Raises:
            LauncherFault: a launcher took the request but did not answer it.
        """
        if not SUPPORTED:
            return None
        path = os.path.realpath(job_dir.path)
        request = (json.dumps({"dir": path, **order}) if order else path).encode() + b"\n"
        code = await self._request(request, sent)
        if code is None:
            await self._spawn()
            code = await self._request(request, sent)
        return code

    async def _request(self, request: bytes, sent: Callable[[], None] | None) -> int | None:
        """The launcher's answer; None if none listens (or not as this user)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            # Connected and sent at once, not after a turn of the event loop
            # (an asyncio stream waits for one): the request the server has
            # queued behind it is often the job's own log follower. A Unix
            # socket connects at once, or fails: never blocks.
            sock.connect(launcher_address(self.jobs_dir))
            if _peer_uid(sock) != os.getuid():
                sock.close()
                return None
        except BlockingIOError:
            sock.close()
            raise LauncherFault("the launcher's queue is full") from None
        except OSError:
            sock.close()
            return None
        try:
            await loop.sock_sendall(sock, request)
            if sent is not None:
                sent()
            line = await asyncio.wait_for(_answer(loop, sock), REQUEST_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            raise LauncherFault(f"the launcher did not answer: {e!r}") from e
        finally:
            sock.close()
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
        argv = [sys.executable, "-m", "neuro_jupyter.backends.local.launcher"]
        argv += [str(self.jobs_dir), str(self.idle_timeout)]
        with open(self.jobs_dir / LOG_NAME, "ab") as log:
            subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=helper_environment(os.environ), cwd="/", start_new_session=True,
                check=False, timeout=60,
            )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
