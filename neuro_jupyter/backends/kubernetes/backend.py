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
  lists again; errors back off (0.5 s doubling to 30 s) (:mod:`.watch`);
- logs: one streaming ``pods/log`` request per container instance, appended
  to an archive ``<jobs_dir>/<job id>/output.log`` (with its time index), so
  ``logs`` is served from the archive, also after the pod is garbage
  collected. ``<job dir>/archive.json`` records how many bytes of each
  instance (restart count) were archived: a restarted server skips them
  (:mod:`.logarchive`);
- exec: one WebSocket per session (:mod:`.execs`);
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
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Float, Int, Unicode, default

from ...jobs.addresses import JobAddresses
from ...jobs.errors import Conflict
from ...jobs.model import Job, JobSpec, JobStatus, Preset, Reason, StatusItem
from ..base import Capacity, Endpoint, ExecSession, StatusEvent, TelemetrySample
from ..logs import read_log
from .config import KubernetesConfig, resolve_namespace
from .dcgm import parse_pod_gpus, with_gpus
from .execs import PodExecSession
from .execs import _exit_code as _exit_code  # re-exported: tests read exec Status frames
from .logarchive import ensure_archiver
from .metadata import pod_name
from .pods import CONTAINER, pod_manifest
from .quantities import parse_cpu, parse_memory
from .status import deleted_status, pod_status, stuck, timed_out_status
from .tracking import TrackedJob, container_instance
from .watch import PodWatch

if TYPE_CHECKING:
    import aiohttp

__all__ = ["KILL_REASON_ANNOTATION", "KubernetesBackend"]

log = logging.getLogger(__name__)

KILL_REASON_ANNOTATION = "neuro-jupyter/kill-reason"
"""Why this backend deleted the pod (``UserRequested``, ``LifeSpanEnded``)."""
_KILLED = "killed"
DCGM_TIMEOUT = 2.0
"""Seconds one scrape of the DCGM exporter may take (then the sample has no GPU figures)."""


def _key(item: StatusItem | None) -> tuple[str, str, str] | None:
    return None if item is None else (item.status.value, item.reason, item.description)


class KubernetesBackend(KubernetesConfig):
    """Runs each job as a Pod (see the module docstring)."""

    runtime = "kubernetes: the command runs in a pod of the cluster, in the job's image"
    required_fields: tuple[str, ...] = ()
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
        self._jobs: dict[str, TrackedJob] = {}
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
        watch = PodWatch(self._core, self._ns, self.watch_timeout, self._listed, self._watched)
        self._watcher = asyncio.ensure_future(watch.watch_loop())

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

    def _listed(self, seen: dict[str, dict[str, Any]]) -> None:
        """A list of the job pods: pods missing from it were deleted meanwhile."""
        for job_id in set(self._pods) - set(seen):
            self._deleted(job_id, self._pods[job_id])
        for job_id, pod in seen.items():
            self._observe(job_id, pod)
        assert self._synced is not None
        self._synced.set()

    def _watched(self, kind: str, job_id: str, pod: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._deleted(job_id, pod)
        else:
            self._observe(job_id, pod)

    # -- statuses ---------------------------------------------------------

    def _emit(self, tracked: TrackedJob, item: StatusItem) -> None:
        if tracked.finished or _key(item) == _key(tracked.last):
            return
        tracked.last = item
        self._events.put_nowait(StatusEvent(tracked.job.id, item))
        if item.status.is_finished:
            self._finish(tracked)

    def _finish(self, tracked: TrackedJob) -> None:
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
        instance = container_instance(pod)
        if instance is not None and instance != tracked.instance:
            tracked.instance = instance
            ensure_archiver(tracked, self._dir(tracked.job.id), self._open_log)
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

    def _watch_stuck(self, tracked: TrackedJob, pod: Mapping[str, Any]) -> None:
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

    def _track(self, job: Job) -> TrackedJob:
        tracked = self._jobs.get(job.id)
        if tracked is None:
            tracked = TrackedJob(job, job.current)
            self._jobs[job.id] = tracked
            killed = self._dir(job.id) / _KILLED
            with contextlib.suppress(OSError):
                tracked.kill_reason = killed.read_text(encoding="utf-8").strip() or None
        return tracked

    def check(self, owner: str, spec: JobSpec, preset: Preset) -> None:
        """Refuse what no pod can run (:func:`.pods.pod_manifest` raises InvalidSpec)."""
        pod_manifest(Job.create(owner, spec, preset), self.pod_config(), self.addresses)

    async def start(self, job: Job, secret_env: Mapping[str, str] | None = None) -> None:
        """Post the job's pod (one that exists already is the job's: nothing to do).

        Raises:
            RuntimeError: a secret environment: a pod's would show in its spec
                (notebook servers on a cluster are NeuroSpawner's pods).
        """
        from kubernetes_asyncio.client.exceptions import ApiException

        if secret_env:
            raise RuntimeError("the kubernetes backend runs no job with a secret environment")
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

    async def _open_log(self, job_id: str) -> Any:
        """The job container's log stream, followed (see :mod:`.logarchive`)."""
        return await self._core.read_namespaced_pod_log(
            pod_name(job_id),
            self._ns,
            container=CONTAINER,
            follow=True,
            _preload_content=False,
        )

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
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The job's archived output (see :func:`..logs.read_log`), followed until archived."""
        return read_log(
            self._dir(job.id),
            follow=follow,
            since=since,
            timestamps=timestamps,
            tail=tail,
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
        its reading is new. A GPU job's samples also carry its GPUs' figures
        from ``dcgm_exporter_url``, where one is configured (:mod:`.dcgm`).
        """
        from kubernetes_asyncio import client
        from kubernetes_asyncio.client.exceptions import ApiException

        api = client.CustomObjectsApi(self._api)
        seen = ""
        async with contextlib.AsyncExitStack() as stack:
            session, failures = None, 0
            if self.dcgm_exporter_url and job.preset.gpu:
                session = await stack.enter_async_context(_dcgm_session())
            while (pod := self._running_pod(job)) is not None:
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
                    sample = _sample(metrics)
                    if session is not None:
                        sample, failures = await self._with_dcgm(session, sample, pod, failures)
                    yield sample
                await asyncio.sleep(interval)

    async def _with_dcgm(
        self,
        session: aiohttp.ClientSession,
        sample: TelemetrySample,
        pod: Mapping[str, Any],
        failures: int,
    ) -> tuple[TelemetrySample, int]:
        """``sample`` with the pod's GPUs from the exporter, and the stream's failures so far.

        A failed scrape leaves ``sample`` as it is: GPU figures are a bonus, the
        CPU and memory samples go on without them. The first failure of a
        stream is a warning, the rest are debug messages.
        """
        import aiohttp

        host_ip = str((pod.get("status") or {}).get("hostIP") or "")
        url = self.dcgm_exporter_url.replace("{host_ip}", host_ip)
        name = str((pod.get("metadata") or {}).get("name") or "")
        try:
            async with session.get(url) as response:
                response.raise_for_status()
                text = await response.text()
            gpus = parse_pod_gpus(text, self._ns, name)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.log(
                logging.DEBUG if failures else logging.WARNING,
                "no GPU telemetry from %s: %r",
                url,
                exc,
            )
            return sample, failures + 1
        return (with_gpus(sample, gpus) if gpus else sample), failures

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


def _dcgm_session() -> aiohttp.ClientSession:
    """One telemetry stream's client for the exporter: short timeouts, no cookies."""
    import aiohttp

    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=DCGM_TIMEOUT),
        cookie_jar=aiohttp.DummyCookieJar(),
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
