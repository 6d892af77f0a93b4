"""The REST API running jobs through ``c.NeuroJobs.backend_class = KubernetesBackend``.

The same requests as tests/server/test_api.py, against a real jupyter server
whose backend talks HTTP to the Kubernetes API emulator of tests/k8s (its
kubelet runs each pod's command as a local process).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from tests.conftest import Api
from tests.k8s.emulator import KubernetesEmulator
from tests.k8s.fixtures import k8s, k8s_config, k8s_kubeconfig  # noqa: F401
from tests.server.test_api import finished, job_when
from tests.server.test_proxy import Fetch, Start, fetch, seen, start_app  # noqa: F401
from tests.utils import wait_for

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def jp_server_config(
    jp_server_config: Config,
    k8s_kubeconfig: Path,  # noqa: F811
) -> Config:
    jp_server_config.NeuroJobs.backend_class = "neuro_jupyter.backends.kubernetes.KubernetesBackend"
    jp_server_config.KubernetesBackend.kubeconfig = str(k8s_kubeconfig)
    jp_server_config.KubernetesBackend.kill_grace_period = 2
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


async def test_ps_costs_no_api_request(api: Api, k8s: KubernetesEmulator) -> None:  # noqa: F811
    await api("POST", "jobs", {"image": "ubuntu", "command": "sleep 60", "name": "listed"})
    await job_when(api, "listed", lambda j: j["status"] == "running")
    await wait_for(lambda: k8s.count(method="GET", path="/log") == 1, 10)  # its log follows
    k8s.reset_requests()
    for _ in range(5):
        status, jobs = await api("GET", "jobs")
        assert status == 200
        assert [j["name"] for j in jobs["jobs"]] == ["listed"]
    assert k8s.requests == [r for r in k8s.requests if r.open]  # only the open watch
    await api("DELETE", "jobs/listed")


async def test_the_proxy_reaches_a_kubernetes_jobs_http_port(
    api: Api,
    start_app: Start,  # noqa: F811
    fetch: Fetch,  # noqa: F811
) -> None:
    # The job's endpoint is its pod's IP (127.0.0.1 in the emulator) and HTTP port.
    await start_app("web")
    data = seen(await fetch("web--alice/a/b?x=1", method="POST", body=b"hello"))
    assert (data["method"], data["uri"], data["body_head"]) == ("POST", "/a/b?x=1", "hello")
    status, _ = await api("DELETE", "jobs/web")
    assert status == 200
    assert (await fetch("web--alice/")).code == 503  # no pod: nothing to reach
