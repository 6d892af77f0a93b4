"""The kubernetes backend: one Pod per job, status from one watch (DESIGN.md §5).

**Connection.** As kubectl: in-cluster configuration (a service account)
where the server runs in a pod, else ``c.KubernetesBackend.kubeconfig``, else
``$KUBECONFIG``, else ``~/.kube/config``. One :class:`ApiClient` (and one
:class:`WsApiClient` for exec) per backend, made in :meth:`setup` on the
server's event loop.

**Requests.** A job's life costs a constant number of requests, none per
second it runs:

- ``start``: one POST (409 AlreadyExists means the pod is there: fine);
- status: one watch of every job pod (``MANAGED_SELECTOR``) for the whole
  backend — list, then watch from the list's ``resourceVersion``; a 410 Gone
  lists again; errors back off (0.5 s doubling to 30 s);
- logs: one streaming ``pods/log`` request per container instance, appended
  to an archive ``<jobs_dir>/<job id>/output.log`` (with its time index), so
  ``logs`` is served from the archive, also after the pod is garbage
  collected. ``<job dir>/archive.json`` records how many bytes of each
  instance (restart count) were archived: a restarted server skips them;
- ``kill``: one PATCH (the ``neuro-jupyter/kill-reason`` annotation, so a
  restarted server knows why) and one DELETE with ``kill_grace_period``;
  the reason is also written to ``<job dir>/killed``, for a pod that is gone
  by the time a restarted server looks.

**Statuses.** Each pod event is mapped with :func:`.status.pod_status`; a job
gets a :class:`StatusEvent` only when its status, reason or description
changed. A pending pod :func:`.status.stuck` for longer than
``schedule_timeout`` fails (:func:`.status.timed_out_status`) and its pod is
deleted. A pod deleted by this backend ends ``cancelled/<kill reason>``; one
deleted by anyone else ``failed/PodVanished``.

**Capacity.** The server cannot know what a cluster offers (autoscalers,
other tenants): :meth:`KubernetesBackend.capacity` returns the configured
``capacity_cpu``/``capacity_memory``/``capacity_gpu`` (all free), 0 where
unset. Kubernetes deployments therefore configure ``c.NeuroJobs.presets``;
presets sized from this capacity are a fallback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traitlets import Float, Int, Unicode, default

from ...jobs.addresses import JobAddresses
from ...jobs.errors import Conflict
from ...jobs.model import Job, JobSpec, JobStatus, Preset, Reason, StatusItem
from ..base import Capacity, Endpoint, ExecSession, StatusEvent, TelemetrySample
from ..logs import LogWriter, read_log
from .config import KubernetesConfig, resolve_namespace
from .metadata import MANAGED_SELECTOR, job_id_of, pod_name
from .pods import CONTAINER, pod_manifest
from .quantities import parse_cpu, parse_memory
from .status import deleted_status, pod_status, stuck, timed_out_status

__all__ = ["KILL_REASON_ANNOTATION", "KubernetesBackend"]

log = logging.getLogger(__name__)

KILL_REASON_ANNOTATION = "neuro-jupyter/kill-reason"
"""Why this backend deleted the pod (``UserRequested``, ``LifeSpanEnded``)."""
_ARCHIVE_STATE = "archive.json"
_KILLED = "killed"
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
_LOG_END_WAIT = 5.0
"""Seconds a log stream's end waits for the watch to report its container ended."""


def _key(item: StatusItem | None) -> tuple[str, str, str] | None:
    return None if item is None else (item.status.value, item.reason, item.description)


def _instance(pod: Mapping[str, Any]) -> int | None:
    """The restart count of the job container's instance that has run, if one has."""
    containers = (pod.get("status") or {}).get("containerStatuses") or []
    for container in containers:
        if container.get("name") != CONTAINER:
            continue
        state = container.get("state") or {}
        if state.get("running") is not None or state.get("terminated") is not None:
            return int(container.get("restartCount") or 0)
    return None


@dataclass
class _Tracked:
    """What the backend knows of one job it runs."""

    job: Job
    last: StatusItem | None
    pod: dict[str, Any] | None = None
    kill_reason: str | None = None
    finished: bool = False
    stuck_timer: asyncio.TimerHandle | None = None
    instance: int | None = None
    archiver: asyncio.Task[None] | None = None
    archived: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    wrote: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self) -> None:
        """Wake whoever waits for news of this job."""
        self.changed.set()


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): list again."""


class KubernetesBackend(KubernetesConfig):
    """Runs each job as a Pod (see the module docstring)."""

    runtime = "kubernetes: the command runs in a pod of the cluster, in the job's image"
    addresses = JobAddresses()
    """Where jobs' HTTP ports are published (set by JobService; see ``Backend``)."""

    jobs_dir = Unicode(
        help="Folder holding one folder per job (the archived log and its index)."
    ).tag(config=True)
    kubeconfig = Unicode(
        "",
        help="""Kubeconfig file. Empty (the default): as kubectl, in-cluster
        configuration inside a pod, else $KUBECONFIG, else ~/.kube/config.""",
    ).tag(config=True)
    context = Unicode("", help="Kubeconfig context. Empty: the file's current context.").tag(
        config=True
    )
    watch_timeout = Int(
        300, min=1, help="Seconds one watch request lasts before it is renewed (timeoutSeconds)."
    ).tag(config=True)
    capacity_cpu = Float(
        0.0, help="CPUs capacity() reports (the cluster's are unknown; 0: unknown)."
    ).tag(config=True)
    capacity_memory = Int(0, help="Memory (bytes) capacity() reports; 0: unknown.").tag(config=True)
    capacity_gpu = Int(0, help="GPUs capacity() reports; 0: none or unknown.").tag(config=True)

    @default("jobs_dir")
    def _default_jobs_dir(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "neuro_jupyter", "kubernetes-jobs")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events: asyncio.Queue[StatusEvent] = asyncio.Queue()
        self._jobs: dict[str, _Tracked] = {}
        self._pods: dict[str, dict[str, Any]] = {}
        self._synced: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._api: Any = None
        self._ws_api: Any = None
        self._core: Any = None
        self._ns = ""
        self._background: set[asyncio.Task[None]] = set()

    # -- connection -------------------------------------------------------

    async def setup(self) -> None:
        """Connect (as kubectl does) and start the one watch of job pods."""
        from kubernetes_asyncio import client, config
        from kubernetes_asyncio.stream import WsApiClient

        configuration = client.Configuration()
        context: Mapping[str, Any] | None = None
        try:
            if self.kubeconfig:
                raise config.ConfigException("a kubeconfig is configured")
            load_incluster: Any = config.load_incluster_config
            load_incluster(client_configuration=configuration)
        except config.ConfigException:
            path = self.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
            path = path or os.path.expanduser("~/.kube/config")
            loader = await config.load_kube_config(
                config_file=path,
                context=self.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
            context = loader.current_context
        self._ns = resolve_namespace(self.namespace, context)
        self._api = client.ApiClient(configuration)
        self._ws_api = WsApiClient(configuration)
        self._core = client.CoreV1Api(self._api)
        self._synced = asyncio.Event()
        Path(self.jobs_dir).mkdir(parents=True, exist_ok=True)
        self._watcher = asyncio.ensure_future(self._watch_loop())

    async def shutdown(self) -> None:
        """Stop the watch and the log archivers; pods keep running."""
        tasks = [t.archiver for t in self._jobs.values() if t.archiver is not None]
        if self._watcher is not None:
            tasks.append(self._watcher)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for tracked in self._jobs.values():
            if tracked.stuck_timer is not None:
                tracked.stuck_timer.cancel()
        for api in (self._ws_api, self._api):
            if api is not None:
                await api.close()
        self._api = self._ws_api = self._core = None

    @property
    def namespace_in_use(self) -> str:
        """The namespace job pods run in (known after :meth:`setup`)."""
        return self._ns

    # -- the watch --------------------------------------------------------

    async def _watch_loop(self) -> None:
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
        for job_id in set(self._pods) - set(seen):
            self._deleted(job_id, self._pods[job_id])
        for job_id, pod in seen.items():
            self._observe(job_id, pod)
        assert self._synced is not None
        self._synced.set()
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    async def _watch(self, version: str) -> str:
        """Follow one watch request from ``version``; the version it reached."""
        response = await self._core.list_namespaced_pod(
            self._ns,
            label_selector=MANAGED_SELECTOR,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_timeout,
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
                if kind == "DELETED":
                    self._deleted(job_id, pod)
                else:
                    self._observe(job_id, pod)
        return version

    # -- statuses ---------------------------------------------------------

    def _emit(self, tracked: _Tracked, item: StatusItem) -> None:
        if tracked.finished or _key(item) == _key(tracked.last):
            return
        tracked.last = item
        self._events.put_nowait(StatusEvent(tracked.job.id, item))
        if item.status.is_finished:
            self._finish(tracked)

    def _finish(self, tracked: _Tracked) -> None:
        tracked.finished = True
        if tracked.stuck_timer is not None:
            tracked.stuck_timer.cancel()
            tracked.stuck_timer = None
        if tracked.archiver is None:
            tracked.archived.set()
        tracked.poke()

    def _observe(self, job_id: str, pod: dict[str, Any]) -> None:
        self._pods[job_id] = pod
        tracked = self._jobs.get(job_id)
        if tracked is None:
            return
        tracked.pod = pod
        metadata = pod.get("metadata") or {}
        annotated = (metadata.get("annotations") or {}).get(KILL_REASON_ANNOTATION)
        if tracked.kill_reason is None and annotated:
            tracked.kill_reason = annotated
        instance = _instance(pod)
        if instance is not None and instance != tracked.instance:
            tracked.instance = instance
            self._ensure_archiver(tracked)
        tracked.poke()
        item = pod_status(pod)
        if item.status.is_finished:
            if tracked.kill_reason is not None:
                # Killed while it ran: a command that exits 0 on SIGTERM was still
                # cancelled (kill() does nothing to a finished job).
                item = StatusItem(
                    JobStatus.CANCELLED, tracked.kill_reason, exit_code=item.exit_code
                )
            elif metadata.get("deletionTimestamp") and item.status is not JobStatus.SUCCEEDED:
                item = deleted_status(None, None)
        self._emit(tracked, item)
        self._watch_stuck(tracked, pod)

    def _deleted(self, job_id: str, pod: dict[str, Any]) -> None:
        self._observe(job_id, pod)
        self._pods.pop(job_id, None)
        tracked = self._jobs.get(job_id)
        if tracked is not None:
            tracked.pod = None
            self._emit(tracked, deleted_status(tracked.kill_reason, tracked.last))
            tracked.poke()

    def _watch_stuck(self, tracked: _Tracked, pod: Mapping[str, Any]) -> None:
        if tracked.finished or self.schedule_timeout <= 0 or stuck(pod) is None:
            if tracked.stuck_timer is not None:
                tracked.stuck_timer.cancel()
                tracked.stuck_timer = None
            return
        if tracked.stuck_timer is None:
            loop = asyncio.get_running_loop()
            tracked.stuck_timer = loop.call_later(
                self.schedule_timeout, self._time_out, tracked.job.id
            )

    def _time_out(self, job_id: str) -> None:
        tracked = self._jobs.get(job_id)
        if tracked is None or tracked.finished or tracked.pod is None:
            return
        tracked.stuck_timer = None
        cause = stuck(tracked.pod)
        if cause is None:
            return
        self._emit(tracked, timed_out_status(*cause, self.schedule_timeout))
        task = asyncio.ensure_future(self._delete_quietly(job_id, 0))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete_quietly(self, job_id: str, grace: int) -> None:
        with contextlib.suppress(Exception):
            await self._delete(job_id, grace)

    async def _delete(self, job_id: str, grace: int) -> bool:
        """Delete the job's pod; whether there was one."""
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            response = await self._core.delete_namespaced_pod(
                pod_name(job_id), self._ns, grace_period_seconds=grace, _preload_content=False
            )
            response.release()
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def events(self) -> AsyncIterator[StatusEvent]:
        """Every status transition, in order, forever."""
        while True:
            yield await self._events.get()

    # -- jobs -------------------------------------------------------------

    def _dir(self, job_id: str) -> Path:
        return Path(self.jobs_dir) / job_id

    def _track(self, job: Job) -> _Tracked:
        tracked = self._jobs.get(job.id)
        if tracked is None:
            tracked = _Tracked(job, job.current)
            self._jobs[job.id] = tracked
            killed = self._dir(job.id) / _KILLED
            with contextlib.suppress(OSError):
                tracked.kill_reason = killed.read_text(encoding="utf-8").strip() or None
        return tracked

    def check(self, owner: str, spec: JobSpec, preset: Preset) -> None:
        """Refuse what no pod can run (:func:`.pods.pod_manifest` raises InvalidSpec)."""
        pod_manifest(Job.create(owner, spec, preset), self.pod_config(), self.addresses)

    async def start(self, job: Job) -> None:
        """Post the job's pod (one that exists already is the job's: nothing to do)."""
        from kubernetes_asyncio.client.exceptions import ApiException

        self._dir(job.id).mkdir(parents=True, exist_ok=True)
        tracked = self._track(job)
        manifest = pod_manifest(job, self.pod_config(), self.addresses)
        try:
            response = await self._core.create_namespaced_pod(
                self._ns, manifest, _preload_content=False
            )
            response.release()
        except ApiException as exc:
            if exc.status != 409:
                raise
        pod = self._pods.get(job.id)
        if pod is not None:
            self._observe(job.id, pod)
        tracked.poke()

    async def kill(self, job: Job, reason: str) -> None:
        """Delete the job's pod with ``kill_grace_period``; it ends cancelled/``reason``."""
        from kubernetes_asyncio.client.exceptions import ApiException

        tracked = self._track(job)
        if tracked.finished:
            return
        tracked.kill_reason = reason
        job_dir = self._dir(job.id)
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / _KILLED).write_text(reason, encoding="utf-8")
        patch = {"metadata": {"annotations": {KILL_REASON_ANNOTATION: reason}}}
        try:
            response = await self._core.patch_namespaced_pod(
                pod_name(job.id),
                self._ns,
                patch,
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
            response.release()
        except ApiException as exc:
            if exc.status != 404:
                raise
        if not await self._delete(job.id, self.kill_grace_period):
            self._pods.pop(job.id, None)
            tracked.pod = None
            self._emit(tracked, deleted_status(reason, tracked.last))

    async def reconcile(self, jobs: Sequence[Job]) -> None:
        """Adopt the store's live jobs: watch their pods; report those whose pod is gone."""
        if self._synced is not None:
            await self._synced.wait()
        for job in jobs:
            tracked = self._track(job)
            pod = self._pods.get(job.id)
            if pod is not None:
                self._observe(job.id, pod)
            elif tracked.kill_reason is None and job.current.reason == Reason.CREATING:
                await self.start(job)  # stored, never posted: post it now
            else:
                self._emit(tracked, deleted_status(tracked.kill_reason, None))

    # -- logs -------------------------------------------------------------

    def _ensure_archiver(self, tracked: _Tracked) -> None:
        if tracked.archiver is None:
            tracked.archived.clear()
            tracked.archiver = asyncio.ensure_future(self._archive(tracked))

    async def _archive(self, tracked: _Tracked) -> None:
        job_dir = self._dir(tracked.job.id)
        job_dir.mkdir(parents=True, exist_ok=True)
        state_path = job_dir / _ARCHIVE_STATE
        try:
            progress: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            progress = {}
        writer = LogWriter(job_dir)
        done: set[int] = {
            int(k) for k, v in progress.items() if isinstance(v, dict) and v.get("done")
        }
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
                ended = await self._follow(tracked, instance, entry, writer, state_path, progress)
                if ended:
                    entry["done"] = True
                    done.add(instance)
                    self._save(state_path, progress)
                else:
                    tracked.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(tracked.changed.wait(), 1.0)
        finally:
            writer.close()
            tracked.archiver = None
            if tracked.finished:
                tracked.archived.set()
            self._wake_readers(tracked)

    @staticmethod
    def _save(path: Path, progress: Mapping[str, Any]) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(progress), encoding="utf-8")
        os.replace(tmp, path)

    @staticmethod
    def _wake_readers(tracked: _Tracked) -> None:
        tracked.wrote.set()
        tracked.wrote = asyncio.Event()

    def _instance_over(self, tracked: _Tracked, instance: int) -> bool:
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

    async def _follow(
        self,
        tracked: _Tracked,
        instance: int,
        entry: dict[str, Any],
        writer: LogWriter,
        state_path: Path,
        progress: dict[str, Any],
    ) -> bool:
        """Archive one container instance's log; whether it has all been read."""
        from kubernetes_asyncio.client.exceptions import ApiException

        skip = int(entry.get("bytes", 0))
        try:
            response = await self._core.read_namespaced_pod_log(
                pod_name(tracked.job.id),
                self._ns,
                container=CONTAINER,
                follow=True,
                _preload_content=False,
            )
        except ApiException as exc:
            if exc.status == 404:
                return True  # the pod is gone, its log with it
            return self._instance_over(tracked, instance) and tracked.pod is None
        except Exception:
            log.debug("could not read the log of %s", tracked.job.id, exc_info=True)
            return False
        try:
            async with response:
                async for chunk in response.content.iter_any():
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if not chunk:
                        continue
                    writer.write(chunk)
                    entry["bytes"] = int(entry.get("bytes", 0)) + len(chunk)
                    self._save(state_path, progress)
                    self._wake_readers(tracked)
        except Exception:
            log.debug("the log stream of %s broke", tracked.job.id, exc_info=True)
            return False
        # The stream ends when the container does, often before the watch says
        # so: wait for that news rather than ask for the log again (a request
        # per job, issue 6). A stream dropped while the container runs is retried.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LOG_END_WAIT
        while not self._instance_over(tracked, instance):
            left = deadline - loop.time()
            if left <= 0:
                return False
            tracked.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tracked.changed.wait(), left)
        return True

    def _log_done(self, job: Job) -> bool:
        tracked = self._jobs.get(job.id)
        if tracked is None:
            return True
        return tracked.archived.is_set() and tracked.archiver is None

    async def _nap(self, job_id: str, seconds: float) -> None:
        tracked = self._jobs.get(job_id)
        if tracked is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tracked.wrote.wait(), seconds)

    def logs(
        self,
        job: Job,
        *,
        follow: bool = False,
        since: datetime | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        """The job's archived output (see :func:`..logs.read_log`), followed until archived."""
        return read_log(
            self._dir(job.id),
            follow=follow,
            since=since,
            timestamps=timestamps,
            is_done=lambda: self._log_done(job),
            poll_interval=1.0,
            nap=lambda seconds: self._nap(job.id, seconds),
        )

    # -- exec, telemetry, endpoint ---------------------------------------

    def _running_pod(self, job: Job) -> dict[str, Any] | None:
        tracked = self._jobs.get(job.id)
        pod = tracked.pod if tracked is not None else self._pods.get(job.id)
        if pod is None or (pod.get("status") or {}).get("phase") != "Running":
            return None
        return pod

    async def exec(self, job: Job, command: Sequence[str], *, tty: bool = False) -> ExecSession:
        """Run ``command`` in the job's container over the pod exec WebSocket.

        Raises:
            Conflict: the job is not running.
        """
        from kubernetes_asyncio import client

        if self._running_pod(job) is None:
            raise Conflict(f"job {job.id} is not running")
        api: Any = client.CoreV1Api(self._ws_api)
        connecting = await api.connect_get_namespaced_pod_exec(
            pod_name(job.id),
            self._ns,
            command=list(command),
            container=CONTAINER,
            stdin=True,
            stdout=True,
            stderr=not tty,
            tty=tty,
            _preload_content=False,
        )
        ws = await connecting
        return PodExecSession(ws, tty)

    async def telemetry(self, job: Job, interval: float = 1.0) -> AsyncIterator[TelemetrySample]:
        """CPU and memory from metrics.k8s.io (PodMetrics) while the job runs.

        metrics-server refreshes every 15 s or so: a sample is yielded when
        its reading is new.
        """
        from kubernetes_asyncio import client
        from kubernetes_asyncio.client.exceptions import ApiException

        api = client.CustomObjectsApi(self._api)
        seen = ""
        while self._running_pod(job) is not None:
            try:
                metrics = await api.get_namespaced_custom_object(
                    "metrics.k8s.io", "v1beta1", self._ns, "pods", pod_name(job.id)
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise
                metrics = None
            if metrics is not None and metrics.get("timestamp") != seen:
                seen = metrics.get("timestamp") or ""
                yield _sample(metrics)
            await asyncio.sleep(interval)

    async def endpoint(self, job: Job) -> Endpoint | None:
        """The pod's IP and the job's HTTP port, while it runs."""
        pod = self._running_pod(job)
        if job.spec.http is None or pod is None:
            return None
        ip = (pod.get("status") or {}).get("podIP")
        return Endpoint(ip, job.spec.http.port) if ip else None

    def capacity(self) -> Capacity:
        """The configured capacity, all of it free (a cluster's is not known here)."""
        return Capacity(
            cpu=self.capacity_cpu,
            memory=self.capacity_memory,
            gpu=self.capacity_gpu,
            free_cpu=self.capacity_cpu,
            free_memory=self.capacity_memory,
            free_gpu=self.capacity_gpu,
        )


def _sample(metrics: Mapping[str, Any]) -> TelemetrySample:
    """A PodMetrics object as a sample (the job's container)."""
    cpu, memory = 0.0, 0
    for container in metrics.get("containers") or []:
        usage = container.get("usage") or {}
        cpu += parse_cpu(str(usage.get("cpu") or "0"))
        memory += parse_memory(str(usage.get("memory") or "0"))
    stamp = metrics.get("timestamp")
    try:
        at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        at = datetime.now(timezone.utc)
    return TelemetrySample(at=at, cpu=cpu * 100.0, memory=memory)


_STDIN, _STDOUT, _STDERR, _STATUS, _RESIZE = 0, 1, 2, 3, 4


class PodExecSession:
    """An :class:`~..base.ExecSession` over a ``v4.channel.k8s.io`` WebSocket.

    Frames are one channel byte and data: 0 stdin, 1 stdout, 2 stderr, 3 the
    final Status (with the exit code), 4 a TTY resize. The v4 protocol has no
    half-close: :meth:`close_stdin` sends nothing (commands that read to the
    end of input need a TTY's ^D, or the session's end).
    """

    def __init__(self, ws: Any, tty: bool) -> None:
        self._ws = ws
        self._tty = tty
        self._output: asyncio.Queue[bytes] = asyncio.Queue()
        self._code: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read_frames())
        self._tasks: set[asyncio.Task[None]] = set()

    async def _read_frames(self) -> None:
        import aiohttp

        code: int | None = None
        try:
            async for message in self._ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    data = bytes(message.data)
                elif message.type == aiohttp.WSMsgType.TEXT:
                    data = str(message.data).encode()
                else:
                    break
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel in (_STDOUT, _STDERR) and payload:
                    self._output.put_nowait(payload)
                elif channel == _STATUS and payload:
                    code = _exit_code(payload)
                    failure = _start_failure(payload)
                    if failure:  # the command never ran: say why, as a shell would
                        self._output.put_nowait(failure.encode() + b"\n")
        except Exception:
            log.debug("exec stream broke", exc_info=True)
        finally:
            self._output.put_nowait(b"")
            if not self._code.done():
                self._code.set_result(code if code is not None else -1)
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def read(self) -> bytes:
        """The next output bytes; ``b""`` once the output ended."""
        data = await self._output.get()
        if not data:
            self._output.put_nowait(b"")  # later reads see the end too
        return data

    async def write(self, data: bytes) -> None:
        """Send ``data`` to the command's standard input."""
        if not self._ws.closed:
            await self._ws.send_bytes(bytes([_STDIN]) + data)

    async def close_stdin(self) -> None:
        """No half-close in v4.channel.k8s.io (see the class docstring)."""

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the TTY (channel 4); no-op without one."""
        if self._tty and not self._ws.closed:
            size = json.dumps({"Width": cols, "Height": rows}).encode()
            self._spawn(self._ws.send_bytes(bytes([_RESIZE]) + size))

    async def wait(self) -> int:
        """The command's exit code (-1 where the stream ended without one)."""
        return await asyncio.shield(self._code)

    def kill(self) -> None:
        """End the session (closing the stream ends the command's I/O)."""
        self._spawn(self._ws.close())


def _exit_code(payload: bytes) -> int:
    """The exit code in an exec Status (``Success``, or ``details.causes`` ExitCode).

    A command that could not start (the runtime's ``InternalError``, no
    ExitCode cause) gets a shell's code: 127 not found, 126 not executable.
    """
    try:
        status = json.loads(payload)
    except ValueError:
        return -1
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            with contextlib.suppress(ValueError, TypeError):
                return int(cause.get("message"))
    if status.get("reason") == "InternalError":
        message = str(status.get("message") or "")
        return 127 if "not found" in message or "no such file" in message else 126
    return 1


def _start_failure(payload: bytes) -> str:
    """Why an exec's command could not start ("" where it ran)."""
    with contextlib.suppress(ValueError, AttributeError):
        status = json.loads(payload)
        if status.get("reason") == "InternalError":
            return str(status.get("message") or "the command could not be started")
    return ""
