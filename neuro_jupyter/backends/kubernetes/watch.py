"""The one watch of job pods: list, then watch from the list's resourceVersion (issue 6).

A 410 Gone lists again; other errors back off (0.5 s doubling to 30 s). The
watch knows nothing of jobs: it hands each listing and each event to the
backend's callbacks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from .metadata import MANAGED_SELECTOR, job_id_of

__all__ = ["PodWatch"]

log = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0

Listed = Callable[[dict[str, dict[str, Any]]], None]
"""Called with every job pod a list found, by job id."""
Watched = Callable[[str, str, dict[str, Any]], None]
"""Called with an event's type (ADDED, MODIFIED, DELETED), job id and pod."""


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): list again."""


class PodWatch:
    """Lists and watches the pods of ``MANAGED_SELECTOR`` in one namespace.

    Args:
        core: a ``CoreV1Api``.
        namespace: where job pods run.
        timeout: seconds one watch request lasts before it is renewed.
        listed: called after each list (the backend's view of all pods).
        watched: called for each watch event of a job pod.
    """

    def __init__(
        self, core: Any, namespace: str, timeout: int, listed: Listed, watched: Watched
    ) -> None:
        self._core = core
        self._ns = namespace
        self._timeout = timeout
        self._listed = listed
        self._watched = watched

    async def watch_loop(self) -> None:
        """List and watch until cancelled."""
        backoff = _BACKOFF_FIRST
        while True:
            try:
                version = await self._list()
                backoff = _BACKOFF_FIRST
                while True:
                    version = await self._watch(version)
                    backoff = _BACKOFF_FIRST
            except asyncio.CancelledError:
                raise
            except _Gone:
                log.debug("pod watch expired; listing again")
            except Exception:
                log.exception("watching job pods failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _list(self) -> str:
        response = await self._core.list_namespaced_pod(
            self._ns, label_selector=MANAGED_SELECTOR, _preload_content=False
        )
        async with response:
            body = json.loads(await response.read())
        seen: dict[str, dict[str, Any]] = {}
        for pod in body.get("items") or []:
            job_id = job_id_of(pod)
            if job_id is not None:
                seen[job_id] = pod
        self._listed(seen)
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    async def _watch(self, version: str) -> str:
        """Follow one watch request from ``version``; the version it reached."""
        response = await self._core.list_namespaced_pod(
            self._ns,
            label_selector=MANAGED_SELECTOR,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._timeout,
            _preload_content=False,
        )
        async with response:
            async for line in response.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, pod = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if pod.get("code") == 410:
                        raise _Gone()
                    raise RuntimeError(f"pod watch error: {pod.get('message') or pod}")
                version = str((pod.get("metadata") or {}).get("resourceVersion") or version)
                job_id = job_id_of(pod)
                if kind == "BOOKMARK" or job_id is None:
                    continue
                self._watched(str(kind), job_id, pod)
        return version
