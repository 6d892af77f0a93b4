"""The one HTTP client of neuro-jupyter's REST API, sync and async (DESIGN.md §1).

Clients (magics, widgets, CLI) use this and :mod:`neuro_jupyter.jobs` only::

    from neuro_jupyter.client import NeuroClient

    with NeuroClient() as neuro:          # finds the API from the environment
        job = neuro.run({"image": "ubuntu", "command": "echo hi"})
        for chunk in neuro.logs(job.id, follow=True):
            print(chunk.decode(), end="")

Errors are the domain's own (:mod:`neuro_jupyter.jobs.errors`): ``InvalidSpec``
(400, with ``field``), ``Forbidden`` (403), ``NotFound`` (404), ``Conflict``
(409); anything else is :class:`ApiError`, and an API that cannot be reached is
:class:`ClientConfigError` with one sentence that says what to do.
"""

from __future__ import annotations

from ..jobs.errors import Conflict, Forbidden, InvalidSpec, NeuroError, NotFound
from .aio import AsyncExecSession, AsyncNeuroClient
from .config import ApiConfig
from .errors import ApiError, ClientConfigError
from .models import HistoryItem, Job, Sample, parse_time
from .sync import ExecSession, NeuroClient

__all__ = [
    "ApiConfig",
    "ApiError",
    "AsyncExecSession",
    "AsyncNeuroClient",
    "ClientConfigError",
    "Conflict",
    "ExecSession",
    "Forbidden",
    "HistoryItem",
    "InvalidSpec",
    "Job",
    "NeuroClient",
    "NeuroError",
    "NotFound",
    "Sample",
    "parse_time",
]
