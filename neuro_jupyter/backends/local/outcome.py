"""How a runner's reports read as job statuses (see :mod:`.jobdir` for the files)."""

from __future__ import annotations

import signal

from ...jobs.model import JobStatus, Preset, Reason, StatusItem
from .jobdir import JobDir, process_alive, signal_groups

__all__ = ["final_status", "gib", "kill_orphan", "vanished_status"]

_GiB = 2**30


def gib(n: int) -> str:
    """Bytes as GiB with one decimal, e.g. ``2.0 GiB``."""
    return f"{n / _GiB:.1f} GiB"


def kill_orphan(job_dir: JobDir) -> None:
    """Kill the command of a runner that is gone: its output goes nowhere."""
    started = job_dir.started()
    if started is not None and process_alive(started.pid, started.create_time):
        signal_groups([started.pgid], signal.SIGKILL)


def vanished_status(job_dir: JobDir, while_down: bool) -> StatusItem:
    """A job whose runner is gone without recording an end (unless it was killed)."""
    killed = job_dir.killed()
    if killed is not None:
        return StatusItem(JobStatus.CANCELLED, killed)
    when = "while the server was down" if while_down else "unexpectedly"
    description = f"the job's process disappeared {when}; its exit code is unknown"
    return StatusItem(JobStatus.FAILED, Reason.VANISHED, description)


def final_status(job_dir: JobDir, code: int, preset: Preset) -> StatusItem:
    """The end the runner recorded, as a status."""
    killed = job_dir.killed()
    if killed is not None:
        return StatusItem(JobStatus.CANCELLED, killed, exit_code=code)
    if job_dir.exists("oom"):
        description = f"the job used more than its {gib(preset.memory)} of memory"
        return StatusItem(JobStatus.FAILED, Reason.OOM_KILLED, description, exit_code=137)
    cannot_run = job_dir.read_text("cannot_run")
    if cannot_run is not None:
        return StatusItem(JobStatus.FAILED, Reason.CANNOT_RUN, cannot_run, exit_code=code)
    if code == 0:
        return StatusItem(JobStatus.SUCCEEDED, exit_code=0)
    description = f"the command exited with code {code}"
    return StatusItem(JobStatus.FAILED, Reason.ERROR, description, exit_code=code)
