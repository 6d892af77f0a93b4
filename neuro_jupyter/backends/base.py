"""The Backend protocol (DESIGN.md §5): what JobService needs from a runtime.

A backend runs jobs and reports what happens to them; it never touches the
store. JobService owns the records: it hands the backend a ``Job``, consumes
:meth:`Backend.events` and writes each transition to the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..jobs.addresses import JobAddresses
from ..jobs.model import Job, JobSpec, Preset, StatusItem

__all__ = [
    "Backend",
    "Capacity",
    "Endpoint",
    "ExecSession",
    "FileRegion",
    "LogChunk",
    "StatusEvent",
    "TelemetrySample",
    "ZeroCopyLogs",
]


@dataclass(frozen=True)
class StatusEvent:
    """A transition the backend observed for one job.

    ``backend_state``, when set, replaces what the store keeps for re-adoption
    (a pid, a folder): a backend saves progress as it goes, so a server
    restarted mid-start can adopt the job (dask-gateway's start generator).
    """

    job_id: str
    item: StatusItem
    backend_state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Capacity:
    """What the runtime has in all and what is free now."""

    cpu: float
    memory: int
    gpu: int
    free_cpu: float
    free_memory: int
    free_gpu: int
    gpu_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelemetrySample:
    """One reading of a job's resource use."""

    at: datetime
    cpu: float
    """Percent of one CPU (200.0 = two CPUs busy)."""
    memory: int
    """Bytes resident, the whole process tree."""
    gpu_utilization: float | None = None
    """Percent, averaged over the job's GPUs; None without GPUs."""
    gpu_memory: int | None = None
    """Bytes used on the job's GPUs; None without GPUs."""
    gpus: tuple[Mapping[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class FileRegion:
    """Bytes ``[offset, offset + length)`` of a file that only ever grows.

    A backend whose logs are files hands out regions instead of bytes, so the
    server can send them with ``sendfile`` (no copy through Python).
    """

    path: str
    offset: int
    length: int

    def read(self) -> bytes:
        """The region's bytes, for consumers that cannot send files."""
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            return file.read(self.length)


LogChunk = bytes | FileRegion
"""A piece of a log: bytes, or a region of the file that holds them."""


@dataclass(frozen=True)
class Endpoint:
    """Where the proxy reaches a job's HTTP port."""

    host: str
    port: int

    @property
    def netloc(self) -> str:
        """``host:port`` as a URL writes it (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class ExecSession(Protocol):
    """A command running inside a job's environment."""

    async def read(self) -> bytes:
        """The next output bytes; ``b""`` once the command's output ended."""

    async def write(self, data: bytes) -> None:
        """Send bytes to the command's standard input."""

    async def close_stdin(self) -> None:
        """Signal end of input."""

    def resize(self, rows: int, cols: int) -> None:
        """Resize the TTY (no-op without one)."""

    async def wait(self) -> int:
        """Wait for the command to end; its exit code."""

    def kill(self) -> None:
        """End the command now."""


@runtime_checkable
class ZeroCopyLogs(Protocol):
    """Backends whose logs are files on this machine (the local one)."""

    def log_regions(
        self, job: Job, *, follow: bool = False, tail: int | None = None, start: int | None = None
    ) -> AsyncIterator[LogChunk]:
        """As ``logs(job, follow=follow, tail=tail)``, with the file's bytes as
        regions; from byte ``start`` instead of ``tail`` when given."""

    def log_start(self, job: Job, tail: int | None) -> int:
        """The byte offset where the log's last ``tail`` lines begin (None: 0).
        Blocking: reads the file backwards."""

    def log_part(self, job: Job, before: int, limit: int) -> tuple[int, bytes]:
        """Up to ``limit`` bytes of the log ending at byte ``before``, from a
        line's start, and the offset they start at. Blocking: reads the file."""


@runtime_checkable
class Backend(Protocol):
    """A runtime for jobs. Implementations: ``local`` (default), ``kubernetes``."""

    runtime: str
    """In words, where commands run (shown in the job record)."""

    required_fields: tuple[str, ...]
    """Job-spec fields this runtime needs beyond ``image`` (the local one runs
    a command on this machine, so ``command``); the served OpenAPI document
    marks them required."""

    addresses: JobAddresses
    """Where jobs' HTTP ports are published; JobService sets it. A job started
    from then on gets ``addresses.environment(job)`` (``NEURO_JOB_HTTP_URL``,
    ``NEURO_JOB_HTTP_PREFIX``) in its environment, after the spec's."""

    async def setup(self) -> None:
        """Start background work (watchers, schedulers). Called once."""

    async def shutdown(self) -> None:
        """Stop background work; running jobs keep running."""

    def check(self, owner: str, spec: JobSpec, preset: Preset) -> None:
        """Refuse, before anything is stored, a job this runtime can never run.

        Raises:
            InvalidSpec: e.g. a preset bigger than the machine, volumes where
                they cannot be mounted, a working directory that cannot exist.
        """

    async def start(self, job: Job, secret_env: Mapping[str, str] | None = None) -> None:
        """Begin running ``job`` (or queue it: ``pending/Scheduling``).

        Returns once the job is accepted; progress arrives through
        :meth:`events`. Must not raise for a job that passed :meth:`check`
        except on a runtime fault, which the service records as failed.
        ``secret_env`` is more environment for the command that is never
        recorded (not in the job's spec, folder or records): credentials of a
        notebook server run as a job.
        """

    async def kill(self, job: Job, reason: str) -> None:
        """Stop ``job``; it ends ``cancelled`` with ``reason`` (via events)."""

    def events(self) -> AsyncIterator[StatusEvent]:
        """Every status transition, in order, forever (one consumer)."""

    def logs(
        self,
        job: Job,
        *,
        follow: bool = False,
        since: datetime | None = None,
        timestamps: bool = False,
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The job's combined output as written (``\\r`` kept).

        With ``follow``, keeps yielding until the job ends and its output is
        drained. ``since`` skips lines written before that time; ``tail``
        starts at the last ``tail`` lines; ``timestamps`` prefixes each line
        with the time it was written.
        """

    async def exec(self, job: Job, command: Sequence[str], *, tty: bool = False) -> ExecSession:
        """Run ``command`` in the job's environment, working dir and mounts."""

    def telemetry(self, job: Job, interval: float = 1.0) -> AsyncIterator[TelemetrySample]:
        """Samples of the job's resource use while it runs."""

    async def endpoint(self, job: Job) -> Endpoint | None:
        """Where the job's HTTP port is reachable, if it is running and has one."""

    def capacity(self) -> Capacity:
        """The runtime's total and free resources."""

    async def reconcile(self, jobs: Sequence[Job]) -> None:
        """Adopt the live jobs of the store at start-up.

        Jobs still running are watched again; jobs whose process vanished are
        reported (via :meth:`events`) as failed with a reason that says so;
        pending jobs are queued again in creation order.
        """
