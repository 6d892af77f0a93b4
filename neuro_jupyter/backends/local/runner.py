"""The runner: a small supervisor that keeps one local job going.

``python -m neuro_jupyter.backends.local.runner JOBDIR`` detaches (forks; the parent
exits once ``runner.json`` exists), then runs the command of ``JOBDIR`` in its
own session and process group, and, until it ends:

- appends its combined output to ``output.log`` as it is produced;
- watches the memory of the whole process tree and kills the tree above the
  limit (``oom``, exit code 137): portable where cgroups are not;
- stops it when ``killed`` appears (SIGTERM, then SIGKILL after the grace period);
- re-runs it under the ``on-failure``/``always`` restart policies, with backoff;
- records the exit code atomically.

It shares nothing with the Jupyter server but the folder (see :mod:`.jobdir`),
so jobs outlive the server and a new server adopts them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from ..environment import without_credentials
from ..logs import LogWriter
from .child import Child, seal_descriptors, spawn
from .jobdir import JobDir, Launch, RunnerInfo, Started, signal_groups
from .notify import notify

__all__ = [
    "Runner",
    "helper_environment",
    "main",
    "prepare",
    "rehearse",
    "run_detached",
    "spawn_runner",
]

WATCH_PERIOD = 0.1
"""Seconds between memory checks (and checks for ``killed``)."""
DRAIN_TIMEOUT = 2.0
"""After the command ends, how long leftover output may keep the pipe open."""
BACKOFF_MAX = 30.0


def exit_code_of(returncode: int) -> int:
    """A shell-style exit code: a process killed by signal ``n`` exits ``128 + n``."""
    return 128 - returncode if returncode < 0 else returncode


class Runner:
    """Runs one job's command per its ``launch.json`` until it ends for good."""

    def __init__(
        self, job_dir: JobDir, started_w: int = -1, order: Mapping[str, Any] | None = None
    ) -> None:
        self.dir = job_dir
        self._started_w = started_w
        """Closed once the first attempt started (or could not): see :meth:`_first_started`."""
        if order is None:  # read what the server wrote
            self.launch, self.env = job_dir.launch(), job_dir.env()
        else:  # sent with the start request, the same: no reads on the way to the command
            self.launch, self.env = Launch(**order["launch"]), dict(order["env"])
        self.output = LogWriter(job_dir.path)
        self.stop_requested = False
        self._groups: set[int] = set()
        self._term_sent: float | None = None
        self._silent = True
        """No output yet from the current attempt (see :meth:`_read_available`)."""

    def request_stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Stop the command (SIGTERM to the runner lands here)."""
        self.stop_requested = True

    def _stopping(self) -> bool:
        if not self.stop_requested and (self.dir.exists("killed") or not self.dir.path.is_dir()):
            # A job whose folder was deleted can be neither followed nor
            # killed by anyone: it ends instead of running on unseen.
            self.stop_requested = True
        return self.stop_requested

    def run(self) -> int:
        """Run (and re-run) the command; record and return the final exit code."""
        attempt = 0
        code: int | None = None
        while not self._stopping():
            code = self.run_once(attempt)
            if not self._should_restart(code) or not self._backoff(attempt):
                break
            attempt += 1
        self._first_started()
        self.output.close()
        if code is not None:
            self.dir.write_text("exit_code", f"{code}\n")
            notify(self.dir.path)
        return code if code is not None else 143

    def _should_restart(self, code: int) -> bool:
        if self._stopping() or self.dir.exists("cannot_run"):
            return False
        policy = self.launch.restart
        return policy == "always" or (policy == "on-failure" and code != 0)

    def _backoff(self, attempt: int) -> bool:
        """Wait before a restart; False if a stop came meanwhile."""
        deadline = time.monotonic() + min(2.0**attempt, BACKOFF_MAX)
        while time.monotonic() < deadline:
            if self._stopping():
                return False
            time.sleep(WATCH_PERIOD)
        return True

    def run_once(self, attempt: int) -> int:
        """Run the command once; its exit code."""
        (self.dir.path / "oom").unlink(missing_ok=True)
        try:
            child = spawn(self.launch.argv, self.env, self.launch.cwd)
        except OSError as e:
            return self._cannot_run(e)
        proc = psutil.Process(child.pid)
        self._groups = {child.pid}
        self._term_sent = None
        self._silent = True
        started = Started(attempt, child.pid, child.pid, proc.create_time(), time.time())
        self.dir.save_started(started)
        notify(self.dir.path)
        self._first_started()
        try:
            self._pump(child, child.stdout)
        finally:
            child.close()
        code = exit_code_of(child.wait())
        return 137 if self.dir.exists("oom") else code

    def _first_started(self) -> None:
        """Close ``started_w``: a launcher waits for that before its next fork."""
        if self._started_w >= 0:
            os.close(self._started_w)
            self._started_w = -1

    def _cannot_run(self, error: OSError) -> int:
        why = f"cannot run {self.launch.argv[0]!r}: {error.strerror}"
        self.output.write(f"neuro-jupyter: {why}\n".encode())
        self.dir.write_text("cannot_run", why)
        self._first_started()
        return 127 if error.errno == errno.ENOENT else 126

    def _pump(self, child: Child, fd: int) -> None:
        """Copy output until the command ended and its pipe closed (or drained)."""
        os.set_blocking(fd, False)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        stop_at: float | None = None
        eof = False
        # The first check one period in: a command that just started uses no
        # memory yet, and walking /proc now would only delay its first output.
        next_watch = time.monotonic() + WATCH_PERIOD
        while True:
            now = time.monotonic()
            if now >= next_watch:
                self._watch(child, now)
                next_watch = now + WATCH_PERIOD
            if stop_at is None and child.poll() is not None:
                # The command ended: like a container, its leftovers end with it.
                signal_groups(self._groups, signal.SIGKILL)
                stop_at = now + DRAIN_TIMEOUT
            if (eof and stop_at is not None) or (stop_at is not None and now > stop_at):
                return
            if eof:  # stdout closed; wait for the command itself
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=WATCH_PERIOD)
                continue
            timeout = max(0.0, next_watch - time.monotonic())
            if poller.poll(timeout * 1000):
                eof = self._read_available(fd)
                if eof:
                    poller.unregister(fd)

    def _read_available(self, fd: int) -> bool:
        """Read what the pipe holds; True at end of file."""
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                return False
            if not data:
                return True
            self.output.write(data)
            if self._silent:
                # Once per attempt: a follower of the log waiting for the
                # first output reads it now, not at its next poll.
                self._silent = False
                notify(self.dir.path)

    def _tree(self, child: Child) -> list[psutil.Process]:
        try:
            root = psutil.Process(child.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _watch(self, child: Child, now: float) -> None:
        """Enforce the memory limit and stop requests over the process tree."""
        if child.returncode is not None:
            return
        tree = self._tree(child)
        rss = 0
        for proc in tree:
            try:
                rss += proc.memory_info().rss
                self._groups.add(os.getpgid(proc.pid))
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass
        if self.launch.memory and rss > self.launch.memory:
            self.dir.write_text("oom", f"{rss}\n")
            self._signal(tree, signal.SIGKILL)
        elif self._stopping():
            self._stop(tree, now)

    def _stop(self, tree: list[psutil.Process], now: float) -> None:
        if self._term_sent is None:
            self._term_sent = now
            self._signal(tree, signal.SIGTERM)
        elif now - self._term_sent >= self.launch.grace:
            self._signal(tree, signal.SIGKILL)

    def _signal(self, tree: list[psutil.Process], sig: int) -> None:
        # Groups and single processes: bwrap's --new-session puts the command in
        # a group of its own, and a command may start more groups.
        signal_groups(self._groups, sig)
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(sig)


def prepare() -> RunnerInfo:
    """What a runner does before it knows its folder; this process, as ``runner.json`` names it.

    The launcher's spares call it while they wait for an order, so a job
    does not wait for it: psutil's first look at a process (~1.3 ms in a
    fresh fork) and the descriptors sealed (see :func:`.child.seal_descriptors`).
    """
    seal_descriptors()
    me = psutil.Process()
    return RunnerInfo(me.pid, me.create_time())


def rehearse(scratch: Path, called: Callable[[], bool] = lambda: False) -> bool:
    """Go the way from a request to a command's output once, in ``scratch``; remove it.

    A forked spare shares its pages with the launcher until it writes them
    (reference counts, allocations, specialised bytecode): the first job it
    ran paid ~300 copy-on-write faults (~3 µs each here) on its way to the
    command; after a rehearsal, ~85. Rehearsed while the spare waits: the
    request parsed, a folder's files written, a Runner made, ``echo``
    spawned and its output copied (no wake-up sent). It stops early once
    ``called()`` (a request waits for the spare). Best effort: whether it
    went all the way; a failure only leaves the spare colder.
    """
    try:
        scratch.mkdir()
    except OSError:
        return False
    try:
        order = {"launch": asdict(Launch(["echo", "x"], "/", 0)), "env": dict(os.environ)}
        order = json.loads(json.dumps({"dir": str(scratch), **order}))
        job_dir = JobDir(Path(os.path.realpath(order.pop("dir"))))
        if called():
            return False
        job_dir.write_json("runner.json", {"pid": 0, "create_time": 0.0})
        runner = Runner(job_dir, -1, order)
        if called():
            runner.output.close()
            return False
        child = spawn(runner.launch.argv, runner.env, runner.launch.cwd)
        create_time = psutil.Process(child.pid).create_time()
        job_dir.save_started(Started(0, child.pid, child.pid, create_time, time.time()))
        runner._silent = False  # a scratch folder wakes no server
        try:
            runner._pump(child, child.stdout)
        finally:
            child.close()
            child.wait()
            runner.output.close()
        return (scratch / "output.log").read_bytes() == b"x\n"
    except Exception:
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _claim(job_dir: JobDir, me: RunnerInfo) -> bool:
    """Become the folder's runner of record; False if another one already is.

    The runner holds a lock on ``runner.lock`` for its whole life: a folder
    never gets two runners (a start retried after the launcher died
    mid-request, a re-queue after a restart). A second one returns once the
    first has written ``runner.json``.
    """
    lock = os.open(job_dir.file("runner.lock"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("neuro-jupyter: another runner already runs this job", file=sys.stderr)
        deadline = time.monotonic() + 5.0
        while not job_dir.exists("runner.json") and time.monotonic() < deadline:
            time.sleep(0.01)  # the other one holds the lock just before writing it
        os.close(lock)
        return False
    job_dir.write_json("runner.json", {"pid": me.pid, "create_time": me.create_time})
    return True


def _ready_code(answer: bytes) -> int:
    """The detaching parent's exit code for what the runner said on its ready pipe."""
    return 0 if answer in (b"1", b"2") else 1


def _detach(job_dir: JobDir) -> int:
    """Fork; the parent exits once the child has claimed the folder (:func:`_claim`).

    The server waits for that parent, so the runner is never the server's
    child: no zombie, and nothing to wait for when the server goes away.
    Returns, in the runner, its end of the pipe (see :func:`run_detached`);
    a second runner of the folder exits.
    """
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        os._exit(_ready_code(os.read(ready_r, 1)))
    os.close(ready_r)
    claimed = _claim(job_dir, prepare())
    os.write(ready_w, b"1" if claimed else b"2")
    if not claimed:
        os._exit(0)
    return ready_w


def helper_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of a process that outlives the server: no credentials.

    ``PYTHONPATH`` points at this package, so it imports as installed or not.
    """
    env = without_credentials(environ)
    package_parent = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env


def spawn_runner(job_dir: JobDir, environ: Mapping[str, str]) -> int:
    """Start the runner for ``job_dir``; wait until it detached. The launcher's exit code.

    Blocking (run it in a thread). The runner gets ``environ`` minus
    credentials: it outlives the server, and nothing of the server's secrets
    should live on with it.
    """
    argv = [sys.executable, "-m", "neuro_jupyter.backends.local.runner", str(job_dir.path)]
    env = helper_environment(environ)
    with open(job_dir.file("runner.log"), "ab") as log:
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            cwd=job_dir.path, start_new_session=True, check=False,
        ).returncode  # fmt: skip


def _cannot_set_up(job_dir: JobDir, error: Exception) -> None:
    """Record the end of a claimed job whose folder the runner cannot use.

    Claimed, the runner is the job's runner of record: it ends the job
    (failed/ContainerCannotRun) rather than vanishing without a word.
    """
    with contextlib.suppress(OSError):
        job_dir.write_text("cannot_run", f"the job runner cannot set up: {error!r}")
        job_dir.write_text("exit_code", "126\n")
    notify(job_dir.path)


def run_detached(
    job_dir: JobDir,
    report: Callable[[bool], None] | None = None,
    started_w: int = -1,
    me: RunnerInfo | None = None,
    order: Mapping[str, Any] | None = None,
) -> int:
    """Become the runner of ``job_dir`` and run it; 0 once the job ended for good.

    Without ``report``, detach first (:func:`_detach`; the parent never
    returns). The launcher's spares are detached already: they pass
    ``report``, called once the folder is claimed (False: another runner
    holds it, and this one returns at once), the end of a pipe to close once
    the command started (``started_w``: the launcher forks its next spare
    after that), what they prepared ahead (``me``, :func:`prepare`) and the
    ``launch`` and ``env`` sent with the request (``order``), if they were.
    Shared by ``main`` and the launcher.
    """
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):  # noted until the Runner exists
        signal.signal(sig, lambda signum, frame: signals.append(signum))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the server's terminal closing is no stop
    # Claim first, set up after: whoever waits for the claim (the server, the
    # launcher) goes on while this runner reads its folder.
    if report is None:
        started_w = _detach(job_dir)
    else:
        claimed = _claim(job_dir, me or prepare())
        report(claimed)
        if not claimed:
            return 0
    try:
        runner = Runner(job_dir, started_w, order)
    except Exception as e:
        _cannot_set_up(job_dir, e)
        raise
    signal.signal(signal.SIGTERM, runner.request_stop)
    signal.signal(signal.SIGINT, runner.request_stop)
    if signals:
        runner.request_stop()
    runner.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m neuro_jupyter.backends.local.runner JOBDIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neuro_jupyter.backends.local.runner JOBDIR", file=sys.stderr)
        return 2
    return run_detached(JobDir(Path(args[0]).resolve()))


if __name__ == "__main__":
    sys.exit(main())
