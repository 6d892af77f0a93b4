"""Each job's log, archived per container instance as it is written (issue 6).

One streaming ``pods/log`` request per container instance is appended to
``<job dir>/output.log`` (with its time index, :class:`..logs.LogWriter`), so
``logs`` is served from the archive, also after the pod is garbage collected.
``<job dir>/archive.json`` records how many bytes of each instance (restart
count) were archived, and which instances are done: a restarted server skips
what it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ..logs import LogWriter
from .pods import CONTAINER
from .status import pod_status
from .tracking import TrackedJob

__all__ = ["ARCHIVE_STATE", "OpenLog", "ensure_archiver"]

log = logging.getLogger(__name__)

ARCHIVE_STATE = "archive.json"
_LOG_END_WAIT = 5.0
"""Seconds a log stream's end waits for the watch to report its container ended."""

OpenLog = Callable[[str], Awaitable[Any]]
"""Opens the job container's log stream (``follow``) of a job id: an aiohttp response."""


def ensure_archiver(tracked: TrackedJob, job_dir: Path, open_log: OpenLog) -> None:
    """Start archiving the job's log unless a task does already."""
    if tracked.archiver is None:
        tracked.archived.clear()
        tracked.archiver = asyncio.ensure_future(_archive(tracked, job_dir, open_log))


async def _archive(tracked: TrackedJob, job_dir: Path, open_log: OpenLog) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    state_path = job_dir / ARCHIVE_STATE
    try:
        progress: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        progress = {}
    writer = LogWriter(job_dir)
    done: set[int] = {int(k) for k, v in progress.items() if isinstance(v, dict) and v.get("done")}
    try:
        while True:
            instance = tracked.instance
            if instance is None or instance in done:
                if tracked.finished or (
                    tracked.pod is None
                    and tracked.last is not None
                    and tracked.last.status.is_finished
                ):
                    return
                tracked.changed.clear()
                await tracked.changed.wait()
                continue
            entry = progress.setdefault(str(instance), {"bytes": 0})
            stream = _Stream(tracked, instance, entry, writer, state_path, progress)
            if await stream.follow(open_log):
                entry["done"] = True
                done.add(instance)
                _save(state_path, progress)
            else:
                tracked.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(tracked.changed.wait(), 1.0)
    finally:
        writer.close()
        tracked.archiver = None
        if tracked.finished:
            tracked.archived.set()
        tracked.wake_readers()


def _save(path: Path, progress: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(progress), encoding="utf-8")
    os.replace(tmp, path)


def _instance_over(tracked: TrackedJob, instance: int) -> bool:
    """Whether the container instance ``instance`` can write no more."""
    pod = tracked.pod
    if pod is None:
        return True
    if (tracked.instance or 0) > instance:
        return True
    status = pod_status(pod)
    if status.status.is_finished:
        return True
    containers = (pod.get("status") or {}).get("containerStatuses") or []
    for container in containers:
        if container.get("name") == CONTAINER:
            return (container.get("state") or {}).get("terminated") is not None
    return False


class _Stream:
    """One container instance's log stream, appended to the archive."""

    def __init__(
        self,
        tracked: TrackedJob,
        instance: int,
        entry: dict[str, Any],
        writer: LogWriter,
        state_path: Path,
        progress: dict[str, Any],
    ) -> None:
        self.tracked, self.instance, self.entry = tracked, instance, entry
        self.writer, self.state_path, self.progress = writer, state_path, progress

    async def follow(self, open_log: OpenLog) -> bool:
        """Archive the instance's log; whether it has all been read."""
        from kubernetes_asyncio.client.exceptions import ApiException

        tracked, instance = self.tracked, self.instance
        try:
            response = await open_log(tracked.job.id)
        except ApiException as exc:
            if exc.status == 404:
                return True  # the pod is gone, its log with it
            return _instance_over(tracked, instance) and tracked.pod is None
        except Exception:
            log.debug("could not read the log of %s", tracked.job.id, exc_info=True)
            return False
        try:
            await self._copy(response)
        except Exception:
            log.debug("the log stream of %s broke", tracked.job.id, exc_info=True)
            return False
        # The stream ends when the container does, often before the watch says
        # so: wait for that news rather than ask for the log again (a request
        # per job, issue 6). A stream dropped while the container runs is retried.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LOG_END_WAIT
        while not _instance_over(tracked, instance):
            left = deadline - loop.time()
            if left <= 0:
                return False
            tracked.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tracked.changed.wait(), left)
        return True

    async def _copy(self, response: Any) -> None:
        """Append the stream to the archive, skipping the bytes archived before."""
        skip = int(self.entry.get("bytes", 0))
        async with response:
            async for chunk in response.content.iter_any():
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                if not chunk:
                    continue
                self.writer.write(chunk)
                self.entry["bytes"] = int(self.entry.get("bytes", 0)) + len(chunk)
                _save(self.state_path, self.progress)
                self.tracked.wake_readers()
