"""The REST API running jobs through ``c.NeuroJobs.backend_class = KubernetesBackend``.

The same requests as tests/server/test_api.py, against a real jupyter server
whose backend talks HTTP to the minimal pods API of
tests/backends/kubernetes/test_backend.py; a tiny kubelet here runs each
pod's arguments as a local process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from tests.backends.kubernetes.test_backend import FakeApi, ended, running
from tests.backends.kubernetes.test_backend import api as cluster  # noqa: F401
from tests.conftest import Api
from tests.server.test_api import finished, job_when

pytestmark = pytest.mark.usefixtures("jp_serverapp")


async def _run(fake: FakeApi, name: str, pod: dict[str, Any], procs: list[Any]) -> None:
    argv = pod["spec"]["containers"][0].get("args") or []
    fake.set_status(name, **running("127.0.0.1"))
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    procs.append(proc)
    assert proc.stdout is not None
    out = await proc.stdout.read()
    code = await proc.wait()
    if name in fake.pods:
        fake.logs[name] += out
        fake.set_status(name, **ended(code))


@pytest.fixture
async def kubelet(cluster: tuple[FakeApi, str]) -> AsyncIterator[None]:  # noqa: F811
    fake, _ = cluster
    procs: list[Any] = []
    tasks: dict[str, asyncio.Task[None]] = {}

    async def loop() -> None:
        while True:
            changed = fake.changed
            for name, pod in list(fake.pods.items()):
                if name not in tasks:
                    tasks[name] = asyncio.ensure_future(_run(fake, name, pod, procs))
            await changed.wait()

    main = asyncio.ensure_future(loop())
    yield
    for task in [main, *tasks.values()]:
        task.cancel()
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


@pytest.fixture
def jp_server_config(
    jp_server_config: Config,
    cluster: tuple[FakeApi, str],  # noqa: F811
    kubelet: None,
    tmp_path: Path,
) -> Config:
    _, kubeconfig = cluster
    jp_server_config.NeuroJobs.backend_class = "neuro_jupyter.backends.kubernetes.KubernetesBackend"
    jp_server_config.KubernetesBackend.kubeconfig = kubeconfig
    return jp_server_config


async def test_a_job_runs_and_its_log_is_served(api: Api) -> None:
    spec = {"image": "ubuntu", "command": "echo Hello, World!", "name": "test"}
    status, job = await api("POST", "jobs", spec)
    assert status == 201, job
    assert job["runtime"].startswith("kubernetes")
    job = await job_when(api, "test", finished)
    assert job["status"] == "succeeded"
    assert job["exit_code"] == 0
    status, logs = await api("GET", f"jobs/{job['id']}/logs", raw=True)
    assert status == 200
    assert logs == b"Hello, World!\n"


async def test_a_failing_job_and_a_kill(api: Api) -> None:
    await api("POST", "jobs", {"image": "ubuntu", "command": "sh -c 'exit 3'", "name": "bad"})
    job = await job_when(api, "bad", finished)
    assert (job["status"], job["reason"], job["exit_code"]) == ("failed", "Error", 3)
    await api("POST", "jobs", {"image": "ubuntu", "command": "sleep 60", "name": "sleeper"})
    await job_when(api, "sleeper", lambda j: j["status"] == "running")
    status, killed = await api("DELETE", "jobs/sleeper")
    assert status == 200
    assert (killed["status"], killed["reason"]) == ("cancelled", "UserRequested")
