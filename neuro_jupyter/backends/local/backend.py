"""The local backend: jobs are processes on this machine (DESIGN.md §5).

Each job gets a folder under ``jobs_dir`` and a detached runner process
(:mod:`.runner`) that runs the command, writes its output and exit code there,
and enforces the memory limit. The server only reads those files, so jobs
survive a server restart and a new server adopts them (:meth:`reconcile`).

Scheduling is first in, first out on the free CPUs, memory and GPUs (the sum of
the running jobs' presets against the machine); GPUs are handed out exclusively
by index through ``CUDA_VISIBLE_DEVICES``. Volumes appear at their mount paths
through bubblewrap (:mod:`.sandbox`); the image is recorded, not pulled.

Test seams: :meth:`LocalBackend.start_process` and
:meth:`LocalBackend.stop_process` (override them in a subclass).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from ...jobs.addresses import JobAddresses
from ...jobs.errors import Conflict, InvalidSpec
from ...jobs.model import Job, JobSpec, JobStatus, Preset, Reason, StatusItem
from ..base import (
    Capacity,
    Endpoint,
    ExecSession,
    LogChunk,
    StatusEvent,
    TelemetrySample,
)
from ..logs import LOG_NAME, log_part, log_start, read_log, read_log_regions
from .execs import start_exec
from .gpus import discover_gpus
from .jobdir import JobDir, RunnerInfo, Started, process_alive
from .launcher import LauncherClient, LauncherFault, stop_launcher
from .launching import JobFiles, check_spec, job_files
from .notify import Listener
from .outcome import final_status, kill_orphan, vanished_status
from .resources import Offer, free_offer, shortfall, too_big
from .runner import spawn_runner
from .telemetry import tree_samples

__all__ = ["LocalBackend"]


@dataclass
class _Entry:
    """A job this backend holds resources for: launching or running."""

    job: Job
    dir: JobDir
    gpus: tuple[int, ...]
    runner: RunnerInfo | None = None
    """None while the runner is being started."""
    started: Started | None = None
    attempt: int = -1
    """The last attempt reported as running."""


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LocalBackend(LoggingConfigurable):
    """Runs jobs as process groups on this machine (see the module docstring)."""

    runtime = "local: the command runs on this machine; the image is recorded, not pulled"
    required_fields = ("command",)
    addresses = JobAddresses()
    """Where jobs' HTTP ports are published (set by JobService; see ``Backend``)."""

    jobs_dir = Unicode(
        help="Folder holding one folder per job (output, exit code, runner state)."
    ).tag(config=True)
    storage_root = Unicode(
        help="Owners' storage: storage:PATH of user U is <storage_root>/U/PATH."
    ).tag(config=True)
    kill_grace_period = Float(
        10.0, help="Seconds between SIGTERM and SIGKILL when a job is killed."
    ).tag(config=True)
    default_workdir = Unicode(
        help="Where commands run when the spec gives no workdir (Jupyter sets its root_dir)."
    ).tag(config=True)
    cpus = Float(None, allow_none=True, help="CPUs to offer; default: all.").tag(config=True)
    memory = Int(None, allow_none=True, help="Memory (bytes) to offer; default: all.").tag(
        config=True
    )
    gpus = Int(None, allow_none=True, help="GPUs to offer; default: those NVML finds.").tag(
        config=True
    )
    use_bwrap = Bool(
        None, allow_none=True, help="Use bubblewrap for volumes; None: when it is installed."
    ).tag(config=True)
    bwrap_path = Unicode(help="The bwrap program; default: found on PATH.").tag(config=True)
    poll_interval = Float(0.2, help="Seconds between checks of the jobs' folders.").tag(config=True)
    use_launcher = Bool(
        True, help="Start runners by forking a warm launcher process (Linux), not a new Python."
    ).tag(config=True)
    launcher_idle_timeout = Float(
        600.0, help="Seconds without a job start after which the launcher process ends."
    ).tag(config=True)

    @default("jobs_dir")
    def _default_jobs_dir(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "neuro_jupyter", "jobs")

    @default("storage_root")
    def _default_storage_root(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "neuro_jupyter", "storage")

    @default("default_workdir")
    def _default_default_workdir(self) -> str:
        return os.getcwd()

    @default("bwrap_path")
    def _default_bwrap_path(self) -> str:
        return shutil.which("bwrap") or ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events: asyncio.Queue[StatusEvent] = asyncio.Queue()
        self._queue: list[Job] = []
        self._secrets: dict[str, dict[str, str]] = {}
        """Secret environments of jobs not launched yet, by job id (memory only)."""
        self._entries: dict[str, _Entry] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._gpu_indices: tuple[int, ...] | None = None
        self._gpu_models: tuple[str, ...] = ()
        self._machine: tuple[float, int] = (1.0, 0)
        """This machine's CPUs and memory, as detected with the GPUs (:meth:`_total`)."""
        self._launcher: LauncherClient | None = None
        self._listener: Listener | None = None
        self._news: dict[str, set[asyncio.Future[None]]] = {}
        """Per job followed: its followers' naps, ended by its next wake-up (:meth:`_nap`)."""

    # Resources

    def _total(self) -> Offer:
        if self._gpu_indices is None:
            found = discover_gpus()
            self._gpu_models = tuple(g.name for g in found)
            count = len(found) if self.gpus is None else int(self.gpus)
            self._gpu_indices = tuple(range(count))
            # Read once: a job's request would otherwise read /proc/meminfo
            # and the online CPUs three times (check, schedule, free).
            self._machine = (float(psutil.cpu_count() or 1), psutil.virtual_memory().total)
        cpu = float(self.cpus) if self.cpus is not None else self._machine[0]
        memory = int(self.memory) if self.memory is not None else self._machine[1]
        return Offer(cpu, memory, self._gpu_indices)

    def _free(self) -> Offer:
        in_use = ((e.job.preset, e.gpus) for e in self._entries.values())
        return free_offer(self._total(), in_use)

    def capacity(self) -> Capacity:
        """Totals (``cpus``/``memory``/``gpus`` or detected) and what running jobs leave."""
        total, free = self._total(), self._free()
        return Capacity(
            total.cpu, total.memory, len(total.gpus),
            max(free.cpu, 0.0), max(free.memory, 0), len(free.gpus),
            gpu_models=self._gpu_models,
        )  # fmt: skip

    def _bwrap(self) -> str:
        return "" if self.use_bwrap is False else str(self.bwrap_path)

    def _workdir(self, spec: JobSpec) -> str:
        return spec.workdir or str(self.default_workdir)

    def preset_refusal(self, preset: Preset) -> str | None:
        """Why ``preset`` can never run on this machine, or None if it can."""
        return too_big(preset, self._total())

    def check(self, owner: str, spec: JobSpec, preset: Preset) -> None:
        """Refuse a job this machine can never run.

        Raises:
            InvalidSpec: ``preset`` bigger than the machine; ``command`` empty or
                unsplittable; ``volumes`` without bubblewrap, outside the owner's
                storage or at impossible mount paths; ``workdir`` missing.
        """
        why = too_big(preset, self._total())
        if why:
            raise InvalidSpec("preset", why)
        check_spec(
            owner, spec, storage_root=Path(self.storage_root),
            workdir=self._workdir(spec), bwrap=self._bwrap(),
        )  # fmt: skip

    # Starting

    def _dir(self, job: Job) -> JobDir:
        saved = job.backend_state.get("job_dir")
        return JobDir(Path(saved) if saved else Path(self.jobs_dir) / job.id)

    def _emit(self, job_id: str, item: StatusItem, state: dict[str, Any] | None = None) -> None:
        self._events.put_nowait(StatusEvent(job_id, item, state))

    def _state(self, entry: _Entry) -> dict[str, Any]:
        state: dict[str, Any] = {"job_dir": str(entry.dir.path), "gpus": list(entry.gpus)}
        if entry.runner is not None:
            state.update(runner_pid=entry.runner.pid, runner_create_time=entry.runner.create_time)
        if entry.started is not None:
            s = entry.started
            state.update(attempt=s.attempt, child_pid=s.pid, pgid=s.pgid)
            state.update(child_create_time=s.create_time)
        return state

    async def start_process(self, job_dir: JobDir, files: JobFiles | None = None) -> RunnerInfo:
        """Start the runner for ``job_dir`` detached; return it once it reported itself.

        ``files`` are the folder's files, if not written yet: the launcher's
        runner gets what it needs of them with its request, and they are
        written while it starts; a spawned runner reads them.

        Raises:
            RuntimeError: the runner did not start (see ``runner.log``).
        """
        code = None
        unwritten = [files] if files is not None else []
        writing: list[asyncio.Future[None]] = []

        def write() -> None:
            while unwritten:
                unwritten.pop().write(job_dir)

        def write_meanwhile() -> None:  # in a thread: ~3 ms of the loop for a large job (issue 14)
            writing.append(asyncio.ensure_future(asyncio.to_thread(write)))

        if self.use_launcher:
            if self._launcher is None:
                self._launcher = LauncherClient(Path(self.jobs_dir), self.launcher_idle_timeout)
            order = files.order() if files is not None else None
            try:
                code = await self._launcher.launch(job_dir, order, write_meanwhile)
            except LauncherFault as e:
                self.log.warning("local backend: %s; spawning the runner instead", e)
            finally:
                await asyncio.gather(*writing)
        write()
        if code is None:
            code = await asyncio.to_thread(spawn_runner, job_dir, os.environ)
        info = job_dir.runner()
        if code != 0 or info is None:
            raise RuntimeError(f"the job runner did not start (exit code {code})")
        return info

    async def stop_process(self, job_dir: JobDir, reason: str) -> None:
        """Ask the runner of ``job_dir`` to stop the command (idempotent).

        The runner polls for the ``killed`` file: SIGTERM, SIGKILL after its
        grace period. A runner that is gone cannot, so its command is killed here.
        """
        if job_dir.killed() is None:
            job_dir.write_text("killed", reason)
        if job_dir.runner() is not None and not job_dir.runner_alive():
            kill_orphan(job_dir)

    async def _launch(self, entry: _Entry) -> None:
        secrets = self._secrets.pop(entry.job.id, None)
        try:
            if secrets and not self.use_launcher:
                raise RuntimeError("a secret environment needs the launcher (use_launcher)")
            files = job_files(
                entry.job, entry.gpus, storage_root=Path(self.storage_root),
                workdir=self._workdir(entry.job.spec), bwrap=self._bwrap(),
                grace=float(self.kill_grace_period), addresses=self.addresses,
                secret_env=secrets,
            )  # fmt: skip
            entry.dir.path.mkdir(parents=True, exist_ok=True)
            # The files are written while the runner starts, not before.
            entry.runner = await self.start_process(entry.dir, files)

        except BaseException:
            self._entries.pop(entry.job.id, None)
            raise
        item = StatusItem(JobStatus.PENDING, Reason.CONTAINER_CREATING)
        self._emit(entry.job.id, item, self._state(entry))
        self._check(entry, while_down=False)  # its wake-up may have come before runner.json

    async def _launch_quietly(self, entry: _Entry) -> None:
        try:
            await self._launch(entry)
        except Exception as e:
            self.log.exception("local backend: could not start job %s", entry.job.id)
            item = StatusItem(JobStatus.FAILED, Reason.CANNOT_RUN, f"could not start: {e}")
            self._emit(entry.job.id, item)

    def _schedule(self) -> list[_Entry]:
        """Reserve resources for the queue's head while it fits (FIFO); the reserved."""
        reserved = []
        while self._queue:
            job = self._queue[0]
            never = too_big(job.preset, self._total())
            if never:  # the offer shrank since check(): do not block the queue forever
                self._queue.pop(0)
                self._secrets.pop(job.id, None)
                self._emit(job.id, StatusItem(JobStatus.FAILED, Reason.CANNOT_RUN, never))
                continue
            free = self._free()
            if shortfall(job.preset, free) is not None:
                break
            self._queue.pop(0)
            gpus = free.gpus[: job.preset.gpu]
            entry = _Entry(job, self._dir(job), gpus)
            self._entries[job.id] = entry
            reserved.append(entry)
        return reserved

    def _launch_in_background(self, entries: Iterable[_Entry]) -> None:
        for entry in entries:
            task = asyncio.create_task(self._launch_quietly(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _note_waiting(self, job: Job) -> None:
        ahead = next(i for i, q in enumerate(self._queue) if q.id == job.id)
        why = shortfall(job.preset, self._free()) or "waiting for running jobs to end"
        if ahead:
            why = f"{ahead} job(s) ahead in the queue; {why}"
        self._emit(job.id, StatusItem(JobStatus.PENDING, Reason.SCHEDULING, why))

    def _known(self, job_id: str) -> bool:
        return job_id in self._entries or any(q.id == job_id for q in self._queue)

    async def start(self, job: Job, secret_env: Mapping[str, str] | None = None) -> None:
        """Run ``job`` now if it fits, else queue it (``pending/Scheduling``).

        Returns once its resources are reserved: the runner starts in the
        background, and a runner that cannot start ends the job
        failed/ContainerCannotRun through :meth:`events`. ``secret_env``
        reaches the command's environment only: it is kept in memory until
        the runner gets it with its start request, never written to the
        job's folder, and ``exec`` in the job does not see it.
        """
        if self._known(job.id):
            return
        if secret_env:
            self._secrets[job.id] = dict(secret_env)
        self._queue.append(job)
        # Not waiting for the runner answers the request ~10 ms sooner; the
        # reservation is made now, so what fits stays decided in order.
        self._launch_in_background(self._schedule())
        if any(q.id == job.id for q in self._queue):
            self._note_waiting(job)

    async def kill(self, job: Job, reason: str) -> None:
        """Stop ``job``: at once if queued, else through its runner (idempotent)."""
        for i, queued in enumerate(self._queue):
            if queued.id == job.id:
                del self._queue[i]
                self._secrets.pop(job.id, None)
                self._emit(job.id, StatusItem(JobStatus.CANCELLED, reason))
                return
        entry = self._entries.get(job.id)
        if entry is None and job.status.is_live and job.backend_state.get("runner_pid"):
            entry = self._adopt(job)  # killed before reconcile() saw it
        if entry is not None:
            entry.dir.path.mkdir(parents=True, exist_ok=True)  # may still be launching
            await self.stop_process(entry.dir, reason)
        elif job.status.is_live:
            self._emit(job.id, StatusItem(JobStatus.CANCELLED, reason))

    # Watching

    async def setup(self) -> None:
        """Start the watcher of the jobs' folders."""
        self._total()  # NVML's init is slow-ish: not on the first request
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_loop())
        if self._listener is None:
            listener = Listener(Path(self.jobs_dir), self._wake)
            if listener.open(asyncio.get_running_loop()):
                self._listener = listener

    async def shutdown(self) -> None:
        """Stop watching; jobs keep running (a new server adopts them)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.use_launcher:  # also one a server killed earlier left behind
            await asyncio.to_thread(stop_launcher, Path(self.jobs_dir))
            self._launcher = None

    async def events(self) -> AsyncIterator[StatusEvent]:
        """Every status transition, in order, forever."""
        while True:
            yield await self._events.get()

    async def _watch_loop(self) -> None:
        while True:
            try:
                self._poll()
            except Exception:
                self.log.exception("local backend: watching jobs failed; carrying on")
            await asyncio.sleep(float(self.poll_interval))

    def _wake(self, job_id: str) -> None:
        """A runner wrote a report for ``job_id`` (see :mod:`.notify`): read it now."""
        self._end_naps(job_id)  # first: its log's followers run before the checks' events
        entry = self._entries.get(job_id)
        if entry is None or entry.runner is None:
            return  # not ours, or still launching: _launch checks once it knows the runner
        try:
            self._check(entry, while_down=False)
            if job_id not in self._entries:  # it ended: its resources are free
                self._launch_in_background(self._schedule())
        except Exception:
            self.log.exception("local backend: checking job %s failed; polling will", job_id)

    def _poll(self) -> None:
        for entry in list(self._entries.values()):
            if entry.runner is not None:
                self._check(entry, while_down=False)
        self._launch_in_background(self._schedule())

    def _check(self, entry: _Entry, *, while_down: bool) -> None:
        """Report what the runner of ``entry`` wrote since the last check."""
        assert entry.runner is not None
        # The end first, the start after: the runner writes ``started`` before
        # ``exit_code``, so an end read here comes with its start. Read the
        # other way round, a runner that started and ended between the two
        # reads looked like a pending job ending, which the job's history
        # refuses: it stayed pending for good (seen with ``echo``, whose
        # start and end are a millisecond apart).
        code = entry.dir.exit_code()
        alive = code is not None or process_alive(entry.runner.pid, entry.runner.create_time)
        if code is None and not alive:
            code = entry.dir.exit_code()  # it may have written it just before ending
        started = entry.dir.started()
        if started is not None and started.attempt > entry.attempt:
            entry.attempt, entry.started = started.attempt, started
            reason = Reason.RESTARTING if started.attempt else ""
            item = StatusItem(JobStatus.RUNNING, reason)
            self._emit(entry.job.id, item, self._state(entry))
        if code is not None:
            self._end(entry, final_status(entry.dir, code, entry.job.preset))
        elif not alive:
            kill_orphan(entry.dir)
            self._end(entry, vanished_status(entry.dir, while_down))

    def _end(self, entry: _Entry, item: StatusItem) -> None:
        self._entries.pop(entry.job.id, None)
        self._end_naps(entry.job.id)
        self._emit(entry.job.id, item)

    def _adopt(self, job: Job) -> _Entry:
        state = job.backend_state
        runner = RunnerInfo(int(state["runner_pid"]), float(state["runner_create_time"]))
        entry = _Entry(job, self._dir(job), tuple(state.get("gpus", ())), runner)
        if job.status is JobStatus.RUNNING:
            entry.attempt = int(state.get("attempt", 0))
            entry.started = entry.dir.started()
        self._entries[job.id] = entry
        return entry

    async def reconcile(self, jobs: Sequence[Job]) -> None:
        """Adopt the store's live jobs at start-up (oldest first).

        A live runner is watched again (its end is reported when it comes); a
        gone runner's recorded end is reported, or failed/ProcessVanished if it
        recorded none; pending jobs that never got a runner are queued again.
        """
        requeue = []
        for job in sorted(jobs, key=lambda j: j.created_at):
            if job.status.is_finished or self._known(job.id):
                continue
            if job.backend_state.get("runner_pid"):
                self._check(self._adopt(job), while_down=True)
            elif job.status is JobStatus.PENDING:
                requeue.append(job)
            else:
                self._emit(job.id, vanished_status(self._dir(job), while_down=True))
        self._queue[:0] = requeue
        self._launch_in_background(self._schedule())
        for job in requeue:
            if any(q.id == job.id for q in self._queue):
                self._note_waiting(job)

    # Reading

    async def _nap(self, job_id: str, seconds: float) -> None:
        """Wait ``seconds``, or less if a wake-up for ``job_id`` comes first.

        The runner sends one after the first output of each attempt and at
        the end, so a follower sees them within a millisecond, not at its
        next poll; the timeout keeps polling as the backstop.
        """
        # A bare future and a timer, not asyncio.wait_for: no extra task, so
        # a wake-up resumes the follower in one step of the loop.
        nap: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        naps = self._news.setdefault(job_id, set())
        naps.add(nap)
        timer = asyncio.get_running_loop().call_later(seconds, _settle, nap)
        try:
            await nap
        finally:
            timer.cancel()
            naps.discard(nap)
            if not naps and self._news.get(job_id) is naps:
                del self._news[job_id]

    def _end_naps(self, job_id: str) -> None:
        for nap in self._news.pop(job_id, ()):
            _settle(nap)

    def _output_done(self, job: Job, job_dir: JobDir) -> bool:
        entry = self._entries.get(job.id)
        if any(q.id == job.id for q in self._queue) or (entry and entry.runner is None):
            return False  # not started yet
        return job_dir.finished()

    def logs(
        self,
        job: Job,
        *,
        follow: bool = False,
        since: datetime | None = None,
        timestamps: bool = False,
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The job's output as written; see :func:`.logs.read_log`."""
        job_dir = self._dir(job)
        return read_log(
            job_dir.path,
            follow=follow,
            since=since,
            timestamps=timestamps,
            tail=tail,
            is_done=lambda: self._output_done(job, job_dir),
            nap=lambda seconds: self._nap(job.id, seconds),
        )

    def log_regions(
        self, job: Job, *, follow: bool = False, tail: int | None = None, start: int | None = None
    ) -> AsyncIterator[LogChunk]:
        """The job's output as regions of its log file, for ``sendfile``."""
        job_dir = self._dir(job)
        return read_log_regions(
            job_dir.path,
            follow=follow,
            tail=tail,
            start=start,
            is_done=lambda: self._output_done(job, job_dir),
            nap=lambda seconds: self._nap(job.id, seconds),
        )

    def log_start(self, job: Job, tail: int | None) -> int:
        """Where the last ``tail`` lines of the job's log begin; see :func:`.logs.log_start`."""
        return log_start(self._dir(job).path / LOG_NAME, tail)

    def log_part(self, job: Job, before: int, limit: int) -> tuple[int, bytes]:
        """An earlier part of the job's log; see :func:`.logs.log_part`."""
        return log_part(self._dir(job).path / LOG_NAME, before, limit)

    def _running(self, job: Job) -> _Entry | None:
        entry = self._entries.get(job.id)
        if entry is None or entry.runner is None:
            return None
        entry.started = entry.started or entry.dir.started()
        return entry if entry.started is not None else None

    async def exec(self, job: Job, command: Sequence[str], *, tty: bool = False) -> ExecSession:
        """Run ``command`` with the job's environment, working dir and volumes.

        Raises:
            Conflict: the job is not running.
        """
        entry = self._running(job)
        if entry is None:
            raise Conflict(f"job {job.id} is not running")
        launch, env = entry.dir.launch(), entry.dir.env()
        prefix = launch.sandbox
        if tty:
            # A new session would drop the terminal we hand the command.
            prefix = [arg for arg in prefix if arg != "--new-session"]
            env.setdefault("TERM", "xterm-256color")
        return start_exec([*prefix, *command], env, launch.cwd, tty)

    async def telemetry(self, job: Job, interval: float = 1.0) -> AsyncIterator[TelemetrySample]:
        """CPU and memory of the job's process tree, and its GPUs, every ``interval``."""

        def current() -> Started | None:
            entry = self._running(job)
            return None if entry is None else entry.started

        gpus = self._entries[job.id].gpus if job.id in self._entries else ()
        async for sample in tree_samples(current, lambda: job.id in self._entries, gpus, interval):
            yield sample

    async def endpoint(self, job: Job) -> Endpoint | None:
        """``127.0.0.1`` and the job's HTTP port while it runs."""
        if job.spec.http is None or self._running(job) is None:
            return None
        return Endpoint("127.0.0.1", job.spec.http.port)
