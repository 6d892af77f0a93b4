"""One pod on the node: pulls, starts, restarts and stops its containers; writes its status.

The worker is the kubelet's pod worker: it owns the pod's containers from the
moment the pod is bound to the node until it is terminal or gone, and every
change it makes is one status write (one MODIFIED watch event).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .containers import ContainerLog, ContainerProcess, StartError, expand, kill_group
from .selectors import parse_quantity, rfc3339
from .store import ApiError

if TYPE_CHECKING:
    from .kubelet import Kubelet

__all__ = ["ContainerState", "PodWorker"]

Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def image_id(image: str) -> str:
    """The image's digest reference, as ``imageID`` (a stable fake digest)."""
    repository = image_ref(image).rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def image_ref(image: str) -> str:
    """The fully qualified reference containerd reports (``docker.io/library/x:latest``)."""
    name = image
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


@dataclass(eq=False)
class ContainerState:
    """What the kubelet knows of one container of the pod."""

    spec: Obj
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    restart_count: int = 0
    container_id: str = ""
    image_id: str = ""
    process: ContainerProcess | None = None
    log: ContainerLog | None = None
    previous_log: ContainerLog | None = None
    execs: set[asyncio.subprocess.Process] = field(default_factory=set)

    @property
    def name(self) -> str:
        """The container's name."""
        return str(self.spec["name"])

    @property
    def running(self) -> bool:
        """Whether its process runs now."""
        return "running" in self.state

    def status(self) -> Obj:
        """Its entry in ``status.containerStatuses``."""
        entry: Obj = {
            "name": self.name,
            "state": self.state,
            "lastState": self.last_state,
            "ready": self.running,
            "restartCount": self.restart_count,
            "image": self.spec["image"],
            "imageID": self.image_id,
            "started": self.running,
        }
        if self.container_id:
            entry["containerID"] = self.container_id
        return entry


class PodWorker:
    """Runs one bound pod until it is terminal (or deleted) on behalf of the kubelet."""

    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.kubelet = kubelet
        meta = pod["metadata"]
        self.namespace, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.spec: Obj = pod["spec"]
        self.node: str = pod["spec"]["nodeName"]
        self.containers = [ContainerState(c) for c in pod["spec"]["containers"]]
        self.start_time = time.time()
        self.stop_why: str | None = None  # "deleted", "deadline" or "gone"
        self._stop = asyncio.Event()
        self._kill_at = 0.0
        self._kill_changed = asyncio.Event()
        self._deadline: asyncio.TimerHandle | None = None
        self._transitions: dict[str, tuple[str, str]] = {}
        self.task: asyncio.Task[None] | None = None
        self.killer: asyncio.Task[None] | None = None
        self.workdir = kubelet.config.state_dir / self.uid

    # ---- lifecycle -----------------------------------------------------------------------

    def begin(self) -> None:
        """Start the worker's task."""
        self.task = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    async def _run(self) -> None:
        try:
            self.publish()
            self.arm_deadline(self.spec.get("activeDeadlineSeconds"))
            await asyncio.gather(*(self._run_container(c) for c in self.containers))
            if self.stop_why != "gone":
                self.publish()
                current = self.kubelet.store.peek("pods", self.namespace, self.name)
                if current and current["metadata"].get("deletionTimestamp") and self._mine(current):
                    self.kubelet.store.remove("pods", self.namespace, self.name)
        except Exception:  # a crashed worker would leave a pod stuck: make it loud
            self.kubelet.errors.append(f"{self.namespace}/{self.name}")
            raise
        finally:
            if self._deadline:
                self._deadline.cancel()
            self.kill_all()
            self.kubelet.worker_done(self)

    def _mine(self, pod: Obj | None) -> bool:
        return pod is not None and pod["metadata"]["uid"] == self.uid

    async def _pause(self, seconds: float) -> bool:
        """Sleep; False when the pod is being stopped meanwhile."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return not self._stop.is_set()

    def arm_deadline(self, seconds: int | None) -> None:
        """(Re)arm ``activeDeadlineSeconds``, counted from the pod's start time."""
        if self._deadline:
            self._deadline.cancel()
            self._deadline = None
        if seconds is None or self.task is None or self.task.done():
            return
        delay = max(0.0, self.start_time + seconds - time.time())
        self._deadline = asyncio.get_running_loop().call_later(delay, self._deadline_exceeded)

    def _deadline_exceeded(self) -> None:
        if self.stop_why is None:
            self.kubelet.record(self, "Warning", "DeadlineExceeded", DEADLINE_MESSAGE)
            self.request_stop(self.spec.get("terminationGracePeriodSeconds", 30), "deadline")

    def request_stop(self, grace: float, why: str) -> None:
        """Stop the containers: SIGTERM now, SIGKILL once ``grace`` seconds are over."""
        kill_at = asyncio.get_running_loop().time() + grace
        if self.stop_why is not None:
            if kill_at < self._kill_at:
                self._kill_at = kill_at
                self._kill_changed.set()
            return
        self.stop_why, self._kill_at = why, kill_at
        self._stop.set()
        for container in self.containers:
            if container.process is not None and container.running:
                self.kubelet.record(
                    self, "Normal", "Killing", f"Stopping container {container.name}", container
                )
                container.process.terminate()
        self.killer = asyncio.create_task(self._killer())

    async def _killer(self) -> None:
        loop = asyncio.get_running_loop()
        while any(c.running for c in self.containers):
            remaining = self._kill_at - loop.time()
            if remaining <= 0:
                self.kill_all()
                return
            self._kill_changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._kill_changed.wait(), min(remaining, 0.5))

    def abort(self) -> None:
        """The pod object is gone: kill everything now and write nothing more."""
        if self.stop_why != "gone":
            self.stop_why = "gone"
            self._stop.set()
            self.kill_all()

    def kill_all(self) -> None:
        """SIGKILL every process of the pod (containers and execs)."""
        for container in self.containers:
            if container.process is not None:
                container.process.kill()
            for proc in container.execs:
                if proc.returncode is None:
                    kill_group(proc.pid)

    # ---- containers ----------------------------------------------------------------------

    async def _run_container(self, c: ContainerState) -> None:
        while self.stop_why is None:
            if not await self._pull(c):
                return
            code = await self._run_once(c)
            policy = self.spec.get("restartPolicy", "Always")
            if (
                self.stop_why is not None
                or policy == "Never"
                or (policy == "OnFailure" and code == 0)
            ):
                return
            delay = 0.0
            if c.restart_count > 0:
                base, cap = (
                    self.kubelet.config.restart_backoff,
                    self.kubelet.config.restart_backoff_max,
                )
                delay = min(cap, base * 2 ** (c.restart_count - 1))
                label = f"{delay:g}s"
                c.last_state, c.state = (
                    c.state,
                    {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off {label} restarting failed container={c.name} "
                            f"pod={self.name}_{self.namespace}({self.uid})",
                        }
                    },
                )
                self.publish()
                self.kubelet.record(
                    self,
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {c.name} in pod "
                    f"{self.name}_{self.namespace}({self.uid})",
                    c,
                )
            if not await self._pause(delay):
                return
            if "terminated" in c.state:
                c.last_state = c.state
            c.restart_count += 1

    async def _pull(self, c: ContainerState) -> bool:
        """Pull the image (or find it present); loop on ErrImagePull/ImagePullBackOff.

        Returns:
            False when the pod is stopped meanwhile.
        """
        image, record = c.spec["image"], self.kubelet.record
        if c.spec.get("imagePullPolicy") != "Always" and image in self.kubelet.images:
            record(
                self, "Normal", "Pulled", f'Container image "{image}" already present on machine', c
            )
            c.image_id = image_id(image)
            return self.stop_why is None
        config, attempt = self.kubelet.config, 0
        while True:
            record(self, "Normal", "Pulling", f'Pulling image "{image}"', c)
            if not await self._pause(config.pull_seconds):
                return False
            if not re.search(config.missing_images, image):
                break
            ref = image_ref(image)
            message = (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f'failed to resolve reference "{ref}": {ref}: not found'
            )
            c.state = {"waiting": {"reason": "ErrImagePull", "message": message}}
            self.publish()
            record(self, "Warning", "Failed", f'Failed to pull image "{image}": {message}', c)
            record(self, "Warning", "Failed", "Error: ErrImagePull", c)
            if not await self._pause(config.pull_seconds):
                return False
            backoff = f'Back-off pulling image "{image}"'
            c.state = {"waiting": {"reason": "ImagePullBackOff", "message": backoff}}
            self.publish()
            record(self, "Normal", "BackOff", backoff, c)
            record(self, "Warning", "Failed", "Error: ImagePullBackOff", c)
            if not await self._pause(
                min(config.image_backoff_max, config.image_backoff * 2**attempt)
            ):
                return False
            attempt += 1
        record(
            self,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {config.pull_seconds:g}s',
            c,
        )
        self.kubelet.images.add(image)
        c.image_id = image_id(image)
        return self.stop_why is None

    def environment(self, c: ContainerState) -> dict[str, str]:
        """The container's environment: this machine's, the pod's hostname, then ``env``."""
        env = dict(os.environ)
        env["HOSTNAME"] = self.name
        env[self.kubelet.MARK] = self.kubelet.mark
        pod = self.kubelet.store.peek("pods", self.namespace, self.name) or {}
        for var in c.spec.get("env") or []:
            if "value" in var:
                env[var["name"]] = expand(var["value"], env)
            elif ref := (var.get("valueFrom") or {}).get("fieldRef"):
                env[var["name"]] = _field(pod, ref.get("fieldPath", ""))
            elif ref := (var.get("valueFrom") or {}).get("resourceFieldRef"):
                env[var["name"]] = _resource(c.spec, ref)
            else:
                env[var["name"]] = ""
        return env

    def workdir_for(self, c: ContainerState) -> str:
        """``workingDir`` when it exists here, else a directory of the container's own."""
        wanted = c.spec.get("workingDir")
        if wanted and Path(wanted).is_dir():
            return str(wanted)
        path = self.workdir / c.name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    async def _run_once(self, c: ContainerState) -> int:
        env = self.environment(c)
        command = [expand(a, env) for a in c.spec.get("command") or []]
        args = [expand(a, env) for a in c.spec.get("args") or []]
        config = self.kubelet.config
        if not command:  # the image's ENTRYPOINT, when the test declared one
            command = list(config.entrypoints.get(c.spec["image"], []))
        argv = command + args if command or args else list(config.default_command)
        c.previous_log, c.log = c.log, ContainerLog()
        c.container_id = f"containerd://{secrets.token_hex(32)}"
        c.process = ContainerProcess(argv, env, self.workdir_for(c), c.log)
        started = rfc3339(time.time())
        try:
            await c.process.start()
        except StartError as error:
            c.state = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": str(error),
                    "startedAt": "1970-01-01T00:00:00Z",
                    "finishedAt": rfc3339(time.time()),
                    "containerID": c.container_id,
                }
            }
            self.kubelet.record(self, "Warning", "Failed", f"Error: {error}", c)
            self.publish()
            return 128
        self.kubelet.record(self, "Normal", "Created", f"Created container {c.name}", c)
        self.kubelet.record(self, "Normal", "Started", f"Started container {c.name}", c)
        c.state = {"running": {"startedAt": started}}
        self.publish()
        if self.stop_why is not None:  # stopped while starting
            c.process.terminate()
            if self.killer is None or self.killer.done():
                self.killer = asyncio.create_task(self._killer())
        code = await c.process.wait()
        for proc in c.execs:  # exec'd processes die with the container
            if proc.returncode is None:
                kill_group(proc.pid)
        reason = "OOMKilled" if c.process.oom_killed else ("Completed" if code == 0 else "Error")
        c.state = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": started,
                "finishedAt": rfc3339(time.time()),
                "containerID": c.container_id,
            }
        }
        self.publish()
        return code

    # ---- status --------------------------------------------------------------------------

    def _phase(self) -> str:
        """The pod phase, by the kubelet's rules (``getPhase``)."""
        containers = self.containers
        if any(c.running for c in containers):
            return "Running"
        all_zero = all(c.state.get("terminated", {}).get("exitCode") == 0 for c in containers)
        if self.stop_why is not None:  # stopping and nothing runs: terminal
            return "Succeeded" if all_zero and self.stop_why != "deadline" else "Failed"
        if any("waiting" in c.state and not c.last_state for c in containers):
            return "Pending"
        if any("waiting" in c.state for c in containers):  # waiting to restart
            return "Running"
        policy = self.spec.get("restartPolicy", "Always")
        if policy == "Always" or (policy == "OnFailure" and not all_zero):
            return "Running"  # about to restart
        return "Succeeded" if all_zero else "Failed"

    def _condition(self, kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
        status = "True" if ok else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != status:
            self._transitions[kind] = (status, rfc3339(time.time()))
        condition: Obj = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self._transitions[kind][1],
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        return condition

    def status(self, old: Obj) -> Obj:
        """The pod's status now (``old`` gives the scheduler's condition and qosClass)."""
        phase = self._phase()
        unready = [c.name for c in self.containers if not c.running]
        ready_reason, ready_message = "", ""
        if phase in TERMINAL:
            ready_reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        elif unready:
            ready_reason = "ContainersNotReady"
            ready_message = f"containers with unready status: [{' '.join(unready)}]"
        scheduled = next(
            (c for c in old.get("conditions", []) if c["type"] == "PodScheduled"), None
        )
        conditions = [
            self._condition("PodReadyToStartContainers", phase not in TERMINAL),
            self._condition("Initialized", True),
            self._condition(
                "Ready", not unready and phase == "Running", ready_reason, ready_message
            ),
            self._condition(
                "ContainersReady", not unready and phase == "Running", ready_reason, ready_message
            ),
            scheduled or self._condition("PodScheduled", True),
        ]
        status: Obj = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": rfc3339(self.start_time),
            "containerStatuses": [c.status() for c in self.containers],
            "qosClass": old.get("qosClass", "BestEffort"),
        }
        if self.stop_why == "deadline" and phase == "Failed":
            status["reason"], status["message"] = "DeadlineExceeded", DEADLINE_MESSAGE
        return status

    def publish(self) -> None:
        """Write the pod's status (one MODIFIED event when it changed)."""
        if self.stop_why == "gone":
            return

        def change(pod: Obj) -> None:
            pod["status"] = self.status(pod.get("status", {}))

        current = self.kubelet.store.peek("pods", self.namespace, self.name)
        if not self._mine(current):
            return
        with contextlib.suppress(ApiError):
            self.kubelet.store.update("pods", self.namespace, self.name, change)


def _field(pod: Obj, path: str) -> str:
    meta, spec = pod.get("metadata", {}), pod.get("spec", {})
    if match := re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path):
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    values = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
    }
    return str(values.get(path) or "")


def _resource(container: Obj, ref: Obj) -> str:
    section, _, key = str(ref.get("resource", "")).partition(".")
    value = ((container.get("resources") or {}).get(section) or {}).get(key)
    if value is None:
        return ""
    amount = parse_quantity(value) / parse_quantity(ref.get("divisor", "1"))
    return str(int(-(-amount // 1)))  # rounded up, as the kubelet does
