"""The words of DESIGN.md §2 as frozen records: job spec, job record, history.

Pure: no I/O, no Jupyter, no tornado. Records never change in place; a status
change makes a new ``Job`` through :meth:`Job.transition`, which enforces the
state machine (``pending -> running -> succeeded|failed|cancelled``; pending
may end in failed or cancelled; finished is final).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from .errors import IllegalTransition

__all__ = [
    "HttpSpec",
    "Job",
    "JobSpec",
    "JobStatus",
    "ListJobsQuery",
    "Permission",
    "Preset",
    "Reason",
    "RestartPolicy",
    "Share",
    "StatusItem",
    "Volume",
    "new_job_id",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (every stored time is)."""
    return datetime.now(timezone.utc)


def new_job_id() -> str:
    """A fresh job id: ``job-`` + a lowercase UUID4."""
    return f"job-{uuid.uuid4()}"


class JobStatus(str, enum.Enum):
    """A job's status; the declaration order is the lifecycle order."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        """Finished statuses never change again."""
        return self in _FINISHED

    @property
    def is_live(self) -> bool:
        """Live (pending or running) jobs hold their name and resources."""
        return not self.is_finished

    @classmethod
    def from_name(cls, value: str) -> JobStatus:
        """Parse a status name (surrounding whitespace ignored), raising
        ``ValueError`` that names the bad value."""
        try:
            return cls(value.strip())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown status {value!r}: expected one of {names}") from None


_FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_ALLOWED: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset(
        {JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class Reason:
    """The reason strings Neu.ro uses (a status may also carry none)."""

    CREATING = "Creating"
    SCHEDULING = "Scheduling"
    CONTAINER_CREATING = "ContainerCreating"
    RESTARTING = "Restarting"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    LIFE_SPAN_ENDED = "LifeSpanEnded"
    USER_REQUESTED = "UserRequested"
    VANISHED = "ProcessVanished"
    CANNOT_RUN = "ContainerCannotRun"


class RestartPolicy(str, enum.Enum):
    """What happens when the job's command exits."""

    NEVER = "never"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"


class Permission(enum.IntEnum):
    """Sharing levels; each includes the ones below it."""

    READ = 1
    WRITE = 2
    MANAGE = 3

    @classmethod
    def from_name(cls, value: str) -> Permission:
        """Parse ``read``/``write``/``manage``, raising ``ValueError`` naming the value."""
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(
                f"unknown permission {value!r}: expected read, write or manage"
            ) from None


@dataclass(frozen=True)
class Preset:
    """A named size: CPU, memory (bytes), GPUs, plus Kubernetes placement."""

    name: str
    cpu: float
    memory: int
    gpu: int = 0
    gpu_model: str | None = None
    preemptible: bool = False
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    priority_class: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The preset as JSON data (``GET presets``)."""
        return {
            "name": self.name,
            "cpu": self.cpu,
            "memory": self.memory,
            "gpu": self.gpu,
            "gpu_model": self.gpu_model,
            "preemptible": self.preemptible,
            "node_selector": dict(self.node_selector),
            "tolerations": [dict(t) for t in self.tolerations],
            "priority_class": self.priority_class,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preset:
        """Inverse of :meth:`to_json` for trusted data; no validation."""
        return cls(
            name=data["name"],
            cpu=float(data["cpu"]),
            memory=int(data["memory"]),
            gpu=int(data.get("gpu", 0)),
            gpu_model=data.get("gpu_model"),
            preemptible=bool(data.get("preemptible", False)),
            node_selector=dict(data.get("node_selector") or {}),
            tolerations=tuple(data.get("tolerations") or ()),
            priority_class=data.get("priority_class"),
        )


@dataclass(frozen=True)
class Volume:
    """A storage volume: ``storage:SOURCE:MOUNT[:ro|rw]``.

    ``source`` is what follows ``storage:``: empty for the owner's storage
    root, relative for a path under it, ``/OWNER/PATH`` for an absolute one.
    """

    source: str
    mount: str
    read_only: bool = False


@dataclass(frozen=True)
class HttpSpec:
    """The job's exposed HTTP port and how the proxy treats it."""

    port: int
    auth: bool = True
    keep_prefix: bool = False


@dataclass(frozen=True)
class JobSpec:
    """What the user asked for: everything needed to (re)create the job."""

    image: str
    command: str = ""
    preset: str = "cpu-small"
    name: str | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    volumes: tuple[Volume, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    http: HttpSpec | None = None
    life_span: int = 86400
    """Seconds of running time; 0 means no limit."""
    restart: RestartPolicy = RestartPolicy.NEVER
    share: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Frozen in depth: a spec handed around must not change under anyone.
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON data (the REST API's job spec shape)."""
        return {
            "image": self.image,
            "command": self.command,
            "preset": self.preset,
            "name": self.name,
            "tags": list(self.tags),
            "description": self.description,
            "volumes": [
                {"source": v.source, "mount": v.mount, "read_only": v.read_only}
                for v in self.volumes
            ],
            "env": dict(self.env),
            "workdir": self.workdir,
            "http": None
            if self.http is None
            else {
                "port": self.http.port,
                "auth": self.http.auth,
                "keep_prefix": self.http.keep_prefix,
            },
            "life_span": self.life_span,
            "restart": self.restart.value,
            "share": list(self.share),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        """Inverse of :meth:`to_json` for trusted data (the store); no validation.

        User input goes through ``jobs.parse.parse_job_spec`` instead.
        """
        http = data.get("http")
        return cls(
            image=data["image"],
            command=data.get("command", ""),
            preset=data.get("preset", "cpu-small"),
            name=data.get("name"),
            tags=tuple(data.get("tags", ())),
            description=data.get("description", ""),
            volumes=tuple(Volume(**v) for v in data.get("volumes", ())),
            env=data.get("env", {}),
            workdir=data.get("workdir"),
            http=None if http is None else HttpSpec(**http),
            life_span=int(data.get("life_span", 86400)),
            restart=RestartPolicy(data.get("restart", "never")),
            share=tuple(data.get("share", ())),
        )


@dataclass(frozen=True)
class StatusItem:
    """One entry of a job's history."""

    status: JobStatus
    reason: str = ""
    description: str = ""
    at: datetime = field(default_factory=utcnow)
    exit_code: int | None = None


@dataclass(frozen=True)
class Share:
    """A grant: ``user`` may act on ``target`` (a job id or a job name) of ``owner``.

    ``user`` is a user name, or ``group:NAME`` for every member of the hub group NAME.
    """

    owner: str
    target: str
    user: str
    level: Permission


@dataclass(frozen=True)
class ListJobsQuery:
    """A filter over the jobs ``viewer`` may see (own, or shared with them or
    with one of their hub ``groups``).

    Empty fields do not filter. ``statuses`` None means every status; ``tags``
    must all be present; ``q`` is a case-insensitive substring of the name,
    description, image or command; ``since``/``until`` bound ``created_at``.
    Results are newest first, at most ``limit``; ``after`` (created_at, id)
    starts them after that job (the cursor of the page before).
    """

    viewer: str
    statuses: frozenset[JobStatus] | None = None
    owners: frozenset[str] = frozenset()
    name: str | None = None
    tags: frozenset[str] = frozenset()
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    groups: frozenset[str] = frozenset()
    """The viewer's hub groups: jobs shared with ``group:G`` for any of them are visible."""
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class Job:
    """A job record: the spec, who owns it, and where it stands."""

    id: str
    owner: str
    spec: JobSpec
    preset: Preset
    cluster: str = "default"
    history: tuple[StatusItem, ...] = ()
    backend_state: Mapping[str, Any] = field(default_factory=dict)
    runtime: str = ""
    """Where the command actually runs, in words (e.g. "local: this machine")."""

    @classmethod
    def create(
        cls,
        owner: str,
        spec: JobSpec,
        preset: Preset,
        *,
        cluster: str = "default",
        runtime: str = "",
        at: datetime | None = None,
    ) -> Job:
        """A new job, pending/Creating."""
        first = StatusItem(JobStatus.PENDING, Reason.CREATING, at=at or utcnow())
        return cls(
            id=new_job_id(),
            owner=owner,
            spec=spec,
            preset=preset,
            cluster=cluster,
            history=(first,),
            runtime=runtime,
        )

    @property
    def name(self) -> str | None:
        """The job's name, if it has one."""
        return self.spec.name

    @property
    def current(self) -> StatusItem:
        """The latest history entry."""
        return self.history[-1]

    @property
    def status(self) -> JobStatus:
        """The current status."""
        return self.current.status

    @property
    def reason(self) -> str:
        """The current status's reason (may be empty)."""
        return self.current.reason

    @property
    def description(self) -> str:
        """The current status's description (may be empty)."""
        return self.current.description

    @property
    def exit_code(self) -> int | None:
        """The exit code, once the command has ended."""
        return self.current.exit_code

    @property
    def created_at(self) -> datetime:
        """When the job was created."""
        return self.history[0].at

    @property
    def started_at(self) -> datetime | None:
        """The first time it was running."""
        for item in self.history:
            if item.status is JobStatus.RUNNING:
                return item.at
        return None

    @property
    def finished_at(self) -> datetime | None:
        """When it finished, if it has."""
        return self.current.at if self.status.is_finished else None

    def run_time(self, now: datetime | None = None) -> float:
        """Seconds spent running: the time the life span counts."""
        total = 0.0
        running_since: datetime | None = None
        for item in self.history:
            if item.status is JobStatus.RUNNING:
                running_since = running_since or item.at
            elif running_since is not None:
                total += (item.at - running_since).total_seconds()
                running_since = None
        if running_since is not None:
            total += ((now or utcnow()) - running_since).total_seconds()
        return total

    def can_become(self, status: JobStatus) -> bool:
        """Whether the state machine allows moving to ``status`` now."""
        return status in _ALLOWED[self.status]

    def transition(self, item: StatusItem) -> Job:
        """A copy with ``item`` appended to the history.

        Raises:
            IllegalTransition: the job is finished, or the move is not allowed.
        """
        if not self.can_become(item.status):
            raise IllegalTransition(
                f"job {self.id} cannot go from {self.status.value} to {item.status.value}"
            )
        return replace(self, history=(*self.history, item))

    def with_spec(self, spec: JobSpec) -> Job:
        """A copy with a changed spec (e.g. a bumped life span)."""
        return replace(self, spec=spec)

    def with_backend_state(self, state: Mapping[str, Any]) -> Job:
        """A copy carrying what the backend needs to re-adopt the job."""
        return replace(self, backend_state=dict(state))
