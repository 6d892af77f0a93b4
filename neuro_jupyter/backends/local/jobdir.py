"""One job's folder: what the server writes for the runner and what the runner reports.

Written by the server as the runner starts (a launcher's runner gets ``env`` and
``launch.json``'s content with its request and reads neither; a spawned one
reads them):

- ``spec.json``: the job (id, owner, spec, preset), for people and tools;
- ``env``: the command's environment (mode 0600; no credentials);
- ``launch.json``: argv, working dir, memory limit, restart policy, grace period,
  and the sandbox prefix that ``exec`` reuses.

Written by the runner (each atomically: a temporary file, then rename):

- ``runner.json``: its pid and process start time (so a pid reused by another
  process is never mistaken for it);
- ``started``: the current attempt's child pid, process group and start time;
- ``exit_code``: the command's final exit code (signal ``n`` -> ``128 + n``);
- ``oom``: the memory watchdog killed the command;
- ``cannot_run``: the command could not be executed (why);
- ``output.log`` / ``output.idx``: see :mod:`.logs`.

Written by the server to stop a job: ``killed`` (the reason). The runner polls
for it, so a kill survives a server restart and needs no signal to the runner.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "JobDir",
    "Launch",
    "RunnerInfo",
    "Started",
    "process_alive",
    "signal_groups",
]

_TEMP_NUMBERS = itertools.count()


@dataclass(frozen=True)
class Launch:
    """How the runner runs the command."""

    argv: list[str]
    """The full argv (bwrap prefix included)."""
    cwd: str
    """The runner's working dir for the command (bwrap jobs: ``--chdir`` decides)."""
    memory: int
    """Bytes; the watchdog kills the process tree above it (0: no limit)."""
    restart: str = "never"
    grace: float = 10.0
    sandbox: list[str] = field(default_factory=list)
    """The bwrap prefix (ending in ``--``) that ``exec`` reuses; empty without one."""


@dataclass(frozen=True)
class RunnerInfo:
    """The runner process, as it reports itself."""

    pid: int
    create_time: float


@dataclass(frozen=True)
class Started:
    """One attempt of the command, as the runner reports it."""

    attempt: int
    pid: int
    pgid: int
    create_time: float
    at: float


def process_alive(pid: int, create_time: float) -> bool:
    """Whether ``pid`` is still the process that started at ``create_time``.

    A zombie counts as dead: an orphaned runner may wait unreaped under an
    init that does not reap.
    """
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) > 0.05:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def signal_groups(pgids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each process group; groups already gone are skipped."""
    own = os.getpgrp()
    for pgid in set(pgids):
        if pgid <= 1 or pgid == own:
            continue  # never signal ourselves or init
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


class JobDir:
    """Typed access to the files of one job's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, name: str) -> Path:
        """The path of ``name`` in this folder."""
        return self.path / name

    def write_text(self, name: str, text: str, mode: int = 0o644) -> None:
        """Write ``name`` atomically (a reader sees all of it or nothing)."""
        # A temporary name of this process's own, not mkstemp's random one:
        # half the cost, on a runner's path to its first output.
        tmp = self.path / f".{name}.{os.getpid()}.{next(_TEMP_NUMBERS)}"
        data = text.encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)  # whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            fd = -1
            os.replace(tmp, self.path / name)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise

    def read_text(self, name: str) -> str | None:
        """The content of ``name``, or None if it does not exist."""
        try:
            return (self.path / name).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_json(self, name: str, data: Any, mode: int = 0o644) -> None:
        """Write ``name`` as JSON, atomically."""
        self.write_text(name, json.dumps(data, indent=1), mode)

    def read_json(self, name: str) -> Any:
        """``name`` parsed as JSON, or None if it does not exist."""
        text = self.read_text(name)
        return None if text is None else json.loads(text)

    def exists(self, name: str) -> bool:
        """Whether ``name`` exists in the folder."""
        return (self.path / name).exists()

    # The runner's reports

    def launch(self) -> Launch:
        """``launch.json``."""
        return Launch(**self.read_json("launch.json"))

    def env(self) -> dict[str, str]:
        """The command's environment."""
        data: dict[str, str] = self.read_json("env") or {}
        return data

    def runner(self) -> RunnerInfo | None:
        """``runner.json``, once the runner has started."""
        data = self.read_json("runner.json")
        return None if data is None else RunnerInfo(**data)

    def started(self) -> Started | None:
        """The latest attempt, once the command has started."""
        data = self.read_json("started")
        return None if data is None else Started(**data)

    def exit_code(self) -> int | None:
        """The final exit code, once the runner recorded it."""
        text = self.read_text("exit_code")
        return None if text is None else int(text)

    def killed(self) -> str | None:
        """The kill reason, if the job was asked to stop."""
        return self.read_text("killed")

    def runner_alive(self) -> bool:
        """Whether this folder's runner is still running."""
        info = self.runner()
        return info is not None and process_alive(info.pid, info.create_time)

    def finished(self) -> bool:
        """Whether no more output will come: exit recorded, or the runner is gone."""
        return self.exit_code() is not None or not self.runner_alive()

    def save_started(self, started: Started) -> None:
        """Record the current attempt (runner side)."""
        self.write_json("started", asdict(started))
