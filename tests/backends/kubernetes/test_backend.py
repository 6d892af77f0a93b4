"""KubernetesBackend over real HTTP (kubernetes_asyncio as in production).

Until the emulator of tests/k8s (with its simulated kubelet) is complete,
these tests run against :class:`FakeApi`, a minimal pods API in this file:
create, get, list and watch (resourceVersion, label selector ignored),
merge patch, delete and a streamed log. The test plays the kubelet by
setting pod statuses. It counts requests, so the constant cost of a job's
life is checked too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.jobs.model import Job, JobStatus, Reason, StatusItem
from tests.backends.utils import Recorder, make_job
from tests.utils import wait_for

Obj = dict[str, Any]


class FakeApi:
    """Pods of one namespace over HTTP; the test moves their statuses."""

    def __init__(self) -> None:
        self.pods: dict[str, Obj] = {}
        self.version = 0
        self.history: list[tuple[int, str, Obj]] = []
        self.changed = asyncio.Event()
        self.logs: dict[str, bytearray] = {}
        self.requests: list[str] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/api/v1/namespaces/{ns}/pods", self.collection)
        self.app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{name}", self.item)
        self.app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", self.log)
        self.app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/exec", self.exec)

    def _event(self, kind: str, pod: Obj) -> None:
        self.version += 1
        pod["metadata"]["resourceVersion"] = str(self.version)
        self.history.append((self.version, kind, json.loads(json.dumps(pod))))
        self.changed.set()
        self.changed = asyncio.Event()

    def set_status(self, name: str, **status: Any) -> None:
        """The kubelet's report: a new status for pod ``name``."""
        pod = self.pods[name]
        pod["status"] = status
        self._event("MODIFIED", pod)

    def remove(self, name: str) -> None:
        """The pod is gone (kubectl delete, garbage collection)."""
        pod = self.pods.pop(name)
        self._event("DELETED", pod)

    async def collection(self, request: web.Request) -> web.StreamResponse:
        watch = request.query.get("watch", "").lower() == "true"
        self.requests.append(f"{request.method} pods{' watch' if watch else ''}")
        if request.method == "POST":
            pod = await request.json()
            name = pod["metadata"]["name"]
            if name in self.pods:
                body = {"kind": "Status", "code": 409, "reason": "AlreadyExists"}
                return web.json_response(body, status=409)
            pod["status"] = {"phase": "Pending"}
            self.pods[name] = pod
            self.logs.setdefault(name, bytearray())
            self._event("ADDED", pod)
            return web.json_response(pod, status=201)
        if not watch:
            meta = {"resourceVersion": str(self.version)}
            return web.json_response({"items": list(self.pods.values()), "metadata": meta})
        since = int(request.query.get("resourceVersion") or 0)
        response = web.StreamResponse()
        await response.prepare(request)
        while True:
            for version, kind, pod in list(self.history):
                if version > since:
                    line = json.dumps({"type": kind, "object": pod}) + "\n"
                    await response.write(line.encode())
                    since = version
            await self.changed.wait()

    async def item(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(f"{request.method} pod")
        pod = self.pods.get(name)
        if pod is None:
            return web.json_response({"kind": "Status", "code": 404}, status=404)
        if request.method == "PATCH":
            patch = await request.json()
            notes = pod["metadata"].setdefault("annotations", {})
            notes.update(patch["metadata"]["annotations"])
            self._event("MODIFIED", pod)
        elif request.method == "DELETE":
            pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            self.remove(name)
        return web.json_response(pod)

    async def log(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append("GET log")
        response = web.StreamResponse()
        await response.prepare(request)
        sent = 0
        while True:
            data = self.logs.get(name, bytearray())
            if len(data) > sent:
                await response.write(bytes(data[sent:]))
                sent = len(data)
            pod = self.pods.get(name)
            if pod is None or pod["status"]["phase"] in ("Succeeded", "Failed"):
                if len(self.logs.get(name, b"")) == sent:
                    break
                continue
            await self.changed.wait()
        await response.write_eof()
        return response

    async def exec(self, request: web.Request) -> web.StreamResponse:
        """Runs the command here: stdout on channel 1, then the Status on 3."""
        self.requests.append("GET exec")
        ws = web.WebSocketResponse(protocols=["v4.channel.k8s.io"])
        await ws.prepare(request)
        argv = request.query.getall("command")
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        await ws.send_bytes(b"\x01" + await proc.stdout.read())
        code = await proc.wait()
        status: Obj = {"status": "Success"}
        if code:
            cause = {"reason": "ExitCode", "message": str(code)}
            status = {"status": "Failure", "details": {"causes": [cause]}}
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FakeApi, str]]:
    fake = FakeApi()
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [
                    {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "jobs"}}
                ],
                "current-context": "x",
            }
        )
    )
    yield fake, str(kubeconfig)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.cleanup(), 2)


async def make_backend(kubeconfig: str, jobs_dir: Path) -> KubernetesBackend:
    backend = KubernetesBackend(kubeconfig=kubeconfig, jobs_dir=str(jobs_dir))
    await backend.setup()
    return backend


def running(ip: str = "10.1.0.7", restarts: int = 0) -> Obj:
    state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    return {
        "phase": "Running",
        "podIP": ip,
        "containerStatuses": [{"name": "job", "restartCount": restarts, "state": state}],
    }


def ended(code: int) -> Obj:
    state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}
    return {
        "phase": "Succeeded" if code == 0 else "Failed",
        "containerStatuses": [{"name": "job", "restartCount": 0, "state": state}],
    }


async def read_all(backend: KubernetesBackend, job: Job, follow: bool = False) -> bytes:
    return b"".join([chunk async for chunk in backend.logs(job, follow=follow)])


async def test_a_job_runs_succeeds_and_its_log_outlives_the_pod(
    api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    fake, kubeconfig = api
    backend = await make_backend(kubeconfig, tmp_path / "jobs")
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        job = make_job("echo hi")
        await backend.start(job)
        await backend.start(job)  # twice: the pod exists, nothing more
        assert backend.namespace_in_use == "jobs"
        name = job.id
        await recorder.until(job.id, JobStatus.PENDING)
        fake.set_status(name, **running())
        await recorder.until(job.id, JobStatus.RUNNING)
        follower = asyncio.ensure_future(read_all(backend, job, follow=True))
        fake.logs[name] += b"hello\n"
        fake.set_status(name, **running())  # wake the fake's log stream
        fake.logs[name] += b"world\n"
        fake.set_status(name, **ended(0))
        item = await recorder.end(job.id)
        assert (item.status, item.exit_code) == (JobStatus.SUCCEEDED, 0)
        assert await asyncio.wait_for(follower, 10) == b"hello\nworld\n"
        fake.remove(name)  # garbage collected
        await asyncio.sleep(0.1)
        assert await read_all(backend, job) == b"hello\nworld\n"
        assert [i.status for i in recorder.items(job.id)] == [
            JobStatus.PENDING,
            JobStatus.RUNNING,
            JobStatus.SUCCEEDED,
        ]
        # A job's life: two posts (one 409), one list, one watch, one log stream.
        counts = {r: fake.requests.count(r) for r in set(fake.requests)}
        assert counts == {"POST pods": 2, "GET pods": 1, "GET pods watch": 1, "GET log": 1}
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_a_failed_command_and_a_kill(api: tuple[FakeApi, str], tmp_path: Path) -> None:
    fake, kubeconfig = api
    backend = await make_backend(kubeconfig, tmp_path / "jobs")
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        failing, killed = make_job("exit 3"), make_job("sleep 100")
        await backend.start(failing)
        await backend.start(killed)
        fake.set_status(failing.id, **ended(3))
        item = await recorder.end(failing.id)
        assert (item.status, item.reason, item.exit_code) == (JobStatus.FAILED, Reason.ERROR, 3)
        fake.set_status(killed.id, **running())
        await recorder.until(killed.id, JobStatus.RUNNING)
        await backend.kill(killed, Reason.USER_REQUESTED)
        item = await recorder.end(killed.id)
        assert (item.status, item.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
        assert (tmp_path / "jobs" / killed.id / "killed").read_text() == Reason.USER_REQUESTED
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_a_restarted_server_keeps_its_jobs_and_reports_vanished_pods(
    api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    fake, kubeconfig = api
    first = await make_backend(kubeconfig, tmp_path / "jobs")
    kept, lost = make_job("sleep 100"), make_job("sleep 100")
    await first.start(kept)
    await first.start(lost)
    fake.set_status(kept.id, **running())
    fake.set_status(lost.id, **running())
    fake.logs[kept.id] += b"before\n"
    await wait_for(lambda: (tmp_path / "jobs" / kept.id / "output.log").exists(), 10)
    await wait_for(lambda: (tmp_path / "jobs" / kept.id / "output.log").read_bytes() != b"", 10)
    await first.shutdown()
    fake.remove(lost.id)  # deleted while no server watched
    stored = [j.transition(StatusItem(JobStatus.RUNNING)) for j in (kept, lost)]
    second = await make_backend(kubeconfig, tmp_path / "jobs")
    recorder = Recorder(second)  # type: ignore[arg-type]
    posts = fake.requests.count("POST pods")
    try:
        await second.reconcile(stored)
        item = await recorder.end(lost.id)
        assert (item.status, item.reason) == (JobStatus.FAILED, "PodVanished")
        assert recorder.items(kept.id) == []  # still running: nothing new
        fake.logs[kept.id] += b"after\n"
        fake.set_status(kept.id, **ended(0))
        item = await recorder.end(kept.id)
        assert item.status is JobStatus.SUCCEEDED
        log = await asyncio.wait_for(read_all(second, stored[0], follow=True), 10)
        assert log == b"before\nafter\n"  # resumed, nothing archived twice
        assert fake.requests.count("POST pods") == posts  # nothing started again
    finally:
        await recorder.close()
        await second.shutdown()


async def test_exec_streams_output_and_the_exit_code(
    api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    fake, kubeconfig = api
    backend = await make_backend(kubeconfig, tmp_path / "jobs")
    recorder = Recorder(backend)  # type: ignore[arg-type]
    try:
        job = make_job("sleep 100")
        await backend.start(job)
        fake.set_status(job.id, **running())
        await recorder.until(job.id, JobStatus.RUNNING)
        session = await backend.exec(job, ["sh", "-c", "echo inside; exit 4"])
        output = b""
        while chunk := await session.read():
            output += chunk
        assert output == b"inside\n"
        assert await session.wait() == 4
        ok = await backend.exec(job, ["true"])
        assert await ok.wait() == 0
    finally:
        await recorder.close()
        await backend.shutdown()
