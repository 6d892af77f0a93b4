"""The simulated scheduler and kubelet: bind pods to nodes, run them as local processes.

Both react to the store's watch events in-process (no HTTP, so they add no
requests to the emulator's count):

- the **scheduler** binds each unscheduled pod to the first node that passes
  its filters, or leaves it Pending with ``PodScheduled=False/Unschedulable``
  and a ``FailedScheduling`` event carrying the scheduler's message; it
  retries when a pod ends or leaves, or a node is added;
- the **kubelet** gives each bound pod a :class:`PodWorker` (pull, start,
  restart, deadline, graceful stop), records the events a kubelet records,
  enforces memory limits (``OOMKilled``) and serves logs, exec and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .containers import ContainerLog
from .pods import pod_requests
from .podworker import TERMINAL, ContainerState, PodWorker
from .scheduler import Node, place
from .selectors import format_cpu, format_memory, micro_time, parse_quantity, rfc3339
from .store import ApiError, Store, WatchEvent

__all__ = ["Kubelet", "KubeletConfig", "Node"]

Obj = dict[str, Any]


@dataclass
class KubeletConfig:
    """How the emulated cluster behaves; times are scaled down from a real cluster's.

    Args:
        nodes: the cluster's nodes (one ``node-1`` with 4 CPUs, 16Gi, no GPU by default).
        missing_images: a regular expression; images matching it fail to pull.
        pull_seconds: how long a pull takes (the pod shows ContainerCreating meanwhile).
        image_backoff: first ImagePullBackOff delay, doubled up to ``image_backoff_max``.
        restart_backoff: first CrashLoopBackOff delay, doubled up to ``restart_backoff_max``.
        default_command: what a container with neither command nor args runs (we have
            no image to take its CMD from).
        entrypoints: image -> its ENTRYPOINT, put before ``args`` when a container has no
            ``command`` (``{"python:3.11": ["sh", "-c"]}``); images not listed have none.
        memory_check_interval: how often memory limits are checked (0 disables OOM kills).
        state_dir: where containers get their working directories (a temp dir by default).
    """

    nodes: list[Node] = field(default_factory=lambda: [Node()])
    missing_images: str = r"does-not-exist"
    pull_seconds: float = 0.05
    image_backoff: float = 0.5
    image_backoff_max: float = 5.0
    restart_backoff: float = 0.2
    restart_backoff_max: float = 2.0
    default_command: list[str] = field(default_factory=lambda: ["sleep", "infinity"])
    entrypoints: dict[str, list[str]] = field(default_factory=dict)
    memory_check_interval: float = 0.25
    state_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="k8s-kubelet-")))


class Kubelet:
    """Scheduler and kubelet of every node; runs while the emulator runs."""

    MARK = "NEURO_K8S_EMULATOR"  # in every container's environment: teardown finds strays by it

    def __init__(self, store: Store, config: KubeletConfig) -> None:
        self.store, self.config = store, config
        self.mark = secrets.token_hex(8)
        self.workers: dict[str, PodWorker] = {}
        self.images: set[str] = set()
        self.errors: list[str] = []
        self._schedule_pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._events: dict[tuple[str, str, str, str], str] = {}
        self._requests: dict[str, dict[str, float]] = {}

    # ---- start and stop ------------------------------------------------------------------

    def start(self) -> None:
        """Register the nodes and start listening to the store."""
        for node in self.config.nodes:
            self.store.create("nodes", node.manifest())
        self.store.listeners.append(self._on_event)
        if self.config.memory_check_interval > 0:
            self._spawn(self._memory_loop())

    async def stop(self) -> None:
        """Kill every process the kubelet started and forget the pods."""
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self._on_event)
        for worker in list(self.workers.values()):
            worker.abort()
        tasks = [t for w in self.workers.values() for t in (w.task, w.killer) if t]
        tasks += list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._kill_strays()
        shutil.rmtree(self.config.state_dir, ignore_errors=True)

    def _kill_strays(self) -> None:
        """SIGKILL any process still carrying this kubelet's mark (one that left its group)."""
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.environ().get(self.MARK) == self.mark:
                    proc.kill()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_node(self, node: Node) -> None:
        """Add a node (pending pods are scheduled again)."""
        self.config.nodes.append(node)
        self.store.create("nodes", node.manifest())

    # ---- reacting to the store -----------------------------------------------------------

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == "nodes":
            self._schedule_soon()
            return
        if event.resource != "pods":
            return
        pod, uid = event.obj, event.obj["metadata"]["uid"]
        worker = self.workers.get(uid)
        if event.type == "DELETED":
            self._requests.pop(uid, None)
            if worker:
                worker.abort()
                del self.workers[uid]
            self._schedule_soon()
            return
        spec, meta = pod["spec"], pod["metadata"]
        node = spec.get("nodeName")
        phase = pod["status"].get("phase")
        old_phase = (event.old or {}).get("status", {}).get("phase")
        if phase in TERMINAL and old_phase not in TERMINAL:
            self._schedule_soon()
        if not node:
            if not meta.get("deletionTimestamp"):
                self._schedule_soon()
            return
        known = {n.name for n in self.config.nodes}
        if worker is None and node in known and phase not in TERMINAL:
            worker = self.workers[uid] = PodWorker(self, pod)
            worker.begin()
        if worker is None:
            return
        if meta.get("deletionTimestamp"):
            if worker.task is not None and worker.task.done():  # nothing left to stop
                loop = asyncio.get_running_loop()
                loop.call_soon(self._confirm_deletion, meta["namespace"], meta["name"], uid)
            else:
                worker.request_stop(float(meta.get("deletionGracePeriodSeconds", 0)), "deleted")
        old_deadline = ((event.old or {}).get("spec") or {}).get("activeDeadlineSeconds")
        if event.old is not None and spec.get("activeDeadlineSeconds") != old_deadline:
            worker.spec = spec
            worker.arm_deadline(spec.get("activeDeadlineSeconds"))

    def _confirm_deletion(self, namespace: str, name: str, uid: str) -> None:
        pod = self.store.peek("pods", namespace, name)
        if pod is not None and pod["metadata"]["uid"] == uid:
            self.store.remove("pods", namespace, name)

    def worker_done(self, worker: PodWorker) -> None:
        """A pod worker has finished (its processes are gone; its logs stay until the pod goes)."""
        self._schedule_soon()

    # ---- scheduler -----------------------------------------------------------------------

    def _schedule_soon(self) -> None:
        if not self._schedule_pending:
            self._schedule_pending = True
            asyncio.get_running_loop().call_soon(self._schedule)

    def _schedule(self) -> None:
        """One scheduling pass over every unscheduled pod, highest priority first."""
        self._schedule_pending = False
        used: dict[str, dict[str, float]] = {n.name: {} for n in self.config.nodes}
        pending = []
        for pod in self.store.objects["pods"].values():
            node = pod["spec"].get("nodeName")
            if node:
                if pod["status"].get("phase") not in TERMINAL and node in used:
                    self._hold(used[node], pod)
            elif not pod["metadata"].get("deletionTimestamp"):
                pending.append(pod)
        pending.sort(key=lambda p: -int(p["spec"].get("priority", 0)))
        for pod in pending:
            node, message = place(pod, self.config.nodes, used)
            if node:
                self._hold(used[node], pod)
                self._bind(pod, node)
            else:
                self._unschedulable(pod, message)

    def _hold(self, held: dict[str, float], pod: Obj) -> None:
        """Count ``pod``'s requests as held on a node (requests never change: cached)."""
        uid = pod["metadata"]["uid"]
        requests = self._requests.get(uid)
        if requests is None:
            requests = self._requests[uid] = pod_requests(pod)
        held["pods"] = held.get("pods", 0.0) + 1
        for key, amount in requests.items():
            held[key] = held.get(key, 0.0) + amount

    def _bind(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]

        def bind(obj: Obj) -> None:
            obj["spec"]["nodeName"] = node
            conditions = [
                c for c in obj["status"].get("conditions", []) if c["type"] != "PodScheduled"
            ]
            conditions.append(
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": rfc3339(time.time()),
                }
            )
            obj["status"]["conditions"] = conditions

        self.store.update("pods", meta["namespace"], meta["name"], bind)
        self._scheduler_event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
        )

    def _unschedulable(self, pod: Obj, message: str) -> None:
        meta = pod["metadata"]
        old = next(
            (c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"), None
        )
        if old and old.get("message") == message:
            return  # said already (the real scheduler repeats it on every retry)

        def mark(obj: Obj) -> None:
            obj["status"]["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": rfc3339(time.time()),
                    "reason": "Unschedulable",
                    "message": message,
                }
            ]

        self.store.update("pods", meta["namespace"], meta["name"], mark)
        self._scheduler_event(pod, "Warning", "FailedScheduling", message)

    # ---- events --------------------------------------------------------------------------

    def _involved(self, namespace: str, name: str, uid: str, field_path: str = "") -> Obj:
        pod = self.store.peek("pods", namespace, name) or {"metadata": {}}
        involved = {
            "kind": "Pod",
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "apiVersion": "v1",
            "resourceVersion": pod["metadata"].get("resourceVersion", ""),
        }
        if field_path:
            involved["fieldPath"] = field_path
        return involved

    def _scheduler_event(self, pod: Obj, kind: str, reason: str, message: str) -> None:
        """An event as the scheduler writes them (events.k8s.io: eventTime, no timestamps)."""
        meta = pod["metadata"]
        now = time.time()
        self.store.create(
            "events",
            {
                "metadata": {
                    "name": f"{meta['name']}.{time.time_ns():x}",
                    "namespace": meta["namespace"],
                },
                "involvedObject": self._involved(meta["namespace"], meta["name"], meta["uid"]),
                "reason": reason,
                "message": message,
                "type": kind,
                "source": {},
                "firstTimestamp": None,
                "lastTimestamp": None,
                "eventTime": micro_time(now),
                "action": "Binding" if reason == "Scheduled" else "Scheduling",
                "reportingComponent": "default-scheduler",
                "reportingInstance": "default-scheduler-emulator",
            },
        )

    def record(
        self,
        worker: PodWorker,
        kind: str,
        reason: str,
        message: str,
        c: ContainerState | None = None,
    ) -> None:
        """An event as the kubelet writes them; a repeat bumps ``count`` and ``lastTimestamp``."""
        ns, now = worker.namespace, rfc3339(time.time())
        key = (worker.uid, reason, message, c.name if c else "")
        existing = self._events.get(key)
        if existing and self.store.peek("events", ns, existing):

            def again(event: Obj) -> None:
                event["count"] = event.get("count", 1) + 1
                event["lastTimestamp"] = now

            self.store.update("events", ns, existing, again)
            return
        name = f"{worker.name}.{time.time_ns():x}"
        self._events[key] = name
        field_path = f"spec.containers{{{c.name}}}" if c else ""
        node = worker.node
        self.store.create(
            "events",
            {
                "metadata": {"name": name, "namespace": ns},
                "involvedObject": self._involved(ns, worker.name, worker.uid, field_path),
                "reason": reason,
                "message": message,
                "type": kind,
                "source": {"component": "kubelet", "host": node},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "eventTime": None,
                "reportingComponent": "kubelet",
                "reportingInstance": node,
            },
        )

    # ---- memory limits -------------------------------------------------------------------

    async def _memory_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.memory_check_interval)
            for worker in list(self.workers.values()):
                for c in worker.containers:
                    limit = ((c.spec.get("resources") or {}).get("limits") or {}).get("memory")
                    process = c.process
                    if limit is None or process is None or not c.running:
                        continue
                    if process.resident_bytes() > parse_quantity(limit):
                        process.oom_killed = True
                        process.kill()

    # ---- logs, exec, metrics -------------------------------------------------------------

    def _container(
        self, namespace: str, name: str, container: str | None
    ) -> tuple[PodWorker | None, Obj, ContainerState | None]:
        """The pod's worker, the pod and the named container (the only one when unnamed).

        Raises:
            ApiError: 404 for no pod, 400 for a container name that is missing or wrong.
        """
        pod = self.store.get("pods", namespace, name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        if container is None:
            if len(names) > 1:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod "
                    f"{name}, choose one of: [{' '.join(names)}]",
                )
            container = names[0]
        if container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        worker = self.workers.get(pod["metadata"]["uid"])
        state = (
            next((c for c in worker.containers if c.name == container), None) if worker else None
        )
        return worker, pod, state

    def log_of(
        self, namespace: str, name: str, container: str | None, previous: bool
    ) -> ContainerLog | None:
        """The log a log request reads; None for a pod not yet on a node (empty answer).

        Raises:
            ApiError: 404 / 400 with the kubelet's messages (waiting container, no previous).
        """
        _, pod, state = self._container(namespace, name, container)
        if not pod["spec"].get("nodeName"):
            return None
        cname = container or pod["spec"]["containers"][0]["name"]
        if previous:
            if state is None or state.previous_log is None:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{cname}" in pod "{name}" not found',
                )
            return state.previous_log
        if state is None or state.log is None:
            waiting: Obj = next(
                (
                    s["state"].get("waiting", {})
                    for s in pod["status"].get("containerStatuses", [])
                    if s["name"] == cname
                ),
                {},
            )
            reason = waiting.get("reason", "ContainerCreating")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            raise ApiError(
                400,
                "BadRequest",
                f'container "{cname}" in pod "{name}" is waiting to start: {reason}',
            )
        return state.log

    def exec_target(
        self, namespace: str, name: str, container: str | None
    ) -> tuple[ContainerState, dict[str, str], str]:
        """Where an exec runs: the running container, its environment and working directory.

        Raises:
            ApiError: 404 for no pod, 400 when the container is not running.
        """
        worker, pod, state = self._container(namespace, name, container)
        cname = container or pod["spec"]["containers"][0]["name"]
        if worker is None or state is None or not state.running:
            raise ApiError(
                400, "BadRequest", f'unable to upgrade connection: container not found ("{cname}")'
            )
        return state, worker.environment(state), worker.workdir_for(state)

    def pod_metrics(self, namespace: str, name: str) -> Obj:
        """The pod's PodMetrics from its processes' CPU time and resident memory.

        Raises:
            ApiError: 404 as metrics-server answers for a pod with nothing running.
        """
        pod = self.store.peek("pods", namespace, name)
        worker = self.workers.get(pod["metadata"]["uid"]) if pod else None
        containers, window = [], 0.0
        for c in worker.containers if worker else []:
            sample = c.process.usage() if c.process is not None and c.running else None
            if sample is not None:
                cores, rss, window = sample
                containers.append(
                    {
                        "name": c.name,
                        "usage": {"cpu": format_cpu(cores), "memory": format_memory(rss)},
                    }
                )
        if pod is None or not containers:
            raise ApiError(
                404,
                "NotFound",
                f'podmetrics.metrics.k8s.io "{namespace}/{name}" not found',
                {"name": name, "group": "metrics.k8s.io", "kind": "pods"},
            )
        meta = pod["metadata"]
        return {
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": rfc3339(time.time()),
                "labels": meta.get("labels", {}),
            },
            "timestamp": rfc3339(time.time()),
            "window": f"{window:.3f}s",
            "containers": containers,
        }

    def processes(self) -> list[int]:
        """Process ids of every container process running now (for tests)."""
        return [
            c.process.pid
            for w in self.workers.values()
            for c in w.containers
            if c.process is not None and c.running
        ]
