"""Parsed API records: each is parsed once, in ``from_json``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from ..jobs.model import JobStatus, Preset

__all__ = ["HistoryItem", "Job", "Sample", "parse_time"]


def parse_time(value: str) -> datetime:
    """An API time (ISO-8601, ``Z`` for UTC) as an aware datetime."""
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def _maybe_time(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value)


_RENDERERS: dict[str, Callable[[Any], str]] = {}
# Rendering depends on the models, not the other way round: the render package
# registers its renderers here when it is imported (issue 13).
_RENDER_PACKAGE = "neuro_jupyter.render"


def register_renderer(kind: str, render: Callable[[Any], str]) -> None:
    """Make ``render`` show models of ``kind`` (``job/html``, ``job/text``)."""
    _RENDERERS[kind] = render


def renderer(kind: str) -> Callable[[Any], str]:
    """The renderer of ``kind``; the render package is imported on first need,
    the one place the models reach it (by name, so nothing here imports it).

    Raises:
        KeyError: no renderer of that kind exists.
    """
    if kind not in _RENDERERS:
        importlib.import_module(_RENDER_PACKAGE)
    return _RENDERERS[kind]


@dataclass(frozen=True)
class HistoryItem:
    """One status transition of a job."""

    status: str
    reason: str
    description: str
    at: datetime
    exit_code: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoryItem:
        """Parse one item of a job record's ``history``."""
        return cls(
            status=data["status"],
            reason=data.get("reason") or "",
            description=data.get("description") or "",
            at=parse_time(data["at"]),
            exit_code=data.get("exit_code"),
        )


@dataclass(frozen=True)
class Job:
    """One job record as the API shows it (``GET jobs/{ref}``)."""

    id: str
    name: str | None
    owner: str
    cluster: str
    status: str
    reason: str
    status_description: str
    exit_code: int | None
    image: str
    command: str
    preset: str
    tags: tuple[str, ...]
    description: str
    volumes: tuple[str, ...]
    env: Mapping[str, str]
    workdir: str | None
    http_port: int | None
    http_auth: bool
    life_span: int
    restart: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_time_seconds: float
    http_url: str | None
    resources: Preset
    runtime: str
    history: tuple[HistoryItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """Parse a job record; ``raw`` keeps the record itself."""
        http = data.get("http") or None
        return cls(
            id=data["id"],
            name=data.get("name"),
            owner=data["owner"],
            cluster=data.get("cluster") or "",
            status=data["status"],
            reason=data.get("reason") or "",
            status_description=data.get("status_description") or "",
            exit_code=data.get("exit_code"),
            image=data["image"],
            command=data.get("command") or "",
            preset=data.get("preset") or "",
            tags=tuple(data.get("tags") or ()),
            description=data.get("description") or "",
            volumes=tuple(data.get("volumes") or ()),
            env=MappingProxyType(dict(data.get("env") or {})),
            workdir=data.get("workdir"),
            http_port=None if http is None else int(http["port"]),
            http_auth=True if http is None else bool(http.get("auth", True)),
            life_span=int(data.get("life_span") or 0),
            restart=data.get("restart") or "never",
            created_at=parse_time(data["created_at"]),
            started_at=_maybe_time(data.get("started_at")),
            finished_at=_maybe_time(data.get("finished_at")),
            run_time_seconds=float(data.get("run_time_seconds") or 0.0),
            http_url=data.get("http_url"),
            resources=Preset.from_json(data["resources"]),
            runtime=data.get("runtime") or "",
            history=tuple(HistoryItem.from_json(h) for h in data.get("history") or ()),
            raw=MappingProxyType(dict(data)),
        )

    @property
    def is_finished(self) -> bool:
        """Succeeded, failed or cancelled: the status never changes again."""
        return JobStatus(self.status).is_finished

    @property
    def ref(self) -> str:
        """How to name this job in further calls: its id (names get reused)."""
        return self.id

    def _repr_html_(self) -> str:
        return renderer("job/html")(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(renderer("job/text")(self))


@dataclass(frozen=True)
class Sample:
    """One telemetry sample of ``top``: CPU cores used, memory bytes, GPU use."""

    at: datetime
    cpu: float
    memory: int
    gpu: float | None
    gpu_memory: int | None
    gpus: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sample:
        """Parse the ``data`` of one ``event: sample``."""
        return cls(
            at=parse_time(data["at"]),
            cpu=float(data.get("cpu") or 0.0),
            memory=int(data.get("memory") or 0),
            gpu=None if data.get("gpu") is None else float(data["gpu"]),
            gpu_memory=None if data.get("gpu_memory") is None else int(data["gpu_memory"]),
            gpus=tuple(dict(g) for g in data.get("gpus") or ()),
        )
