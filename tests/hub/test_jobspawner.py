"""On one machine the notebook server is a job (NeuroJobSpawner), under a real hub.

Its hub credentials reach the server's process and nothing else; it runs on
the preset picked, counted with the jobs; a server that does not fit (the
one GPU is taken) waits with the reason and starts when the GPU is free.
"""

from __future__ import annotations

import json
import time

import httpx
import psutil
import pytest

from tests.hub.realhub import ADMIN_TOKEN, RealHub, api, wait_job

pytestmark = pytest.mark.timeout(300)


def server_job(hub: RealHub, user: str) -> dict[str, object]:
    with api(hub.service_url, hub.service_token(user)) as service:
        running = wait_job(service, "jupyterhub-server", lambda j: j["status"] == "running", 120)
    return running


def server_process(job_id: object) -> psutil.Process:
    """The server's process: the job's command, with its hub token."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for process in psutil.process_iter():
            try:
                environ = process.environ()
            except psutil.Error:
                continue
            if environ.get("NEURO_JOB_ID") == job_id and "JUPYTERHUB_API_TOKEN" in environ:
                return process
        time.sleep(0.2)
    raise AssertionError(f"no process of job {job_id}")


def progress_message(hub: RealHub, user: str, contains: str) -> str:
    """The first message of the hub's spawn progress (the spawn-pending page) with ``contains``."""
    url = f"{hub.url}hub/api/users/{user}/server/progress"
    headers = {"Authorization": f"token {ADMIN_TOKEN}"}
    with httpx.stream("GET", url, headers=headers, timeout=60) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                message = str(json.loads(line[len("data:") :]).get("message", ""))
                if contains in message:
                    return message
    raise AssertionError(f"no progress message with {contains!r}")


def test_the_server_is_a_job_and_its_token_is_nowhere_else(job_hub: RealHub) -> None:
    job_hub.start_server("alice")
    job = server_job(job_hub, "alice")
    assert job["tags"] == ["jupyterhub:server"] and job["preset"] == "cpu-small"
    # The server's token, from its process (the job's command).
    process = server_process(job["id"])
    pid = process.pid
    token = process.environ()["JUPYTERHUB_API_TOKEN"]
    assert len(token) >= 16
    with api(job_hub.service_url, job_hub.service_token("alice")) as service:
        for path in (f"jobs/{job['id']}", "jobs?all=true"):
            assert token not in service.get(path).text
    for file in (job_hub.dir / "neuro").rglob("*"):
        if file.is_file() and not file.name.startswith("output"):
            assert token.encode() not in file.read_bytes(), file
    # A job alice starts from her server does not inherit it.
    with api(job_hub.server_api("alice"), job_hub.server_token("alice")) as relay:
        made = relay.post("jobs", json={"image": "ubuntu", "name": "env", "command": "env"})
        assert made.status_code == 201, made.text
        wait_job(relay, "env", lambda j: j["status"] == "succeeded")
        printed = relay.get("jobs/env/logs").text
    assert token not in printed and "JUPYTERHUB_API_TOKEN" not in printed
    job_hub.stop_server("alice")
    with api(job_hub.service_url, job_hub.service_token("alice")) as service:
        assert service.get(f"jobs/{job['id']}").json()["status"] == "cancelled"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_two_servers_asking_for_the_one_gpu_take_turns(job_hub: RealHub) -> None:
    first = job_hub.admin("POST", "users/alice/server", {"preset": "gpu-one"})
    assert first.status_code in (201, 202), first.text
    server_job(job_hub, "alice")
    job_hub.wait_until(lambda: job_hub.server_ready("alice"), 120, "alice's server")
    second = job_hub.admin("POST", "users/bob/server", {"preset": "gpu-one"})
    assert second.status_code == 202, second.text  # it waits
    with api(job_hub.service_url, job_hub.service_token("bob")) as service:
        waiting = wait_job(service, "jupyterhub-server", lambda j: j["status"] == "pending")
        assert "GPU" in waiting["status_description"], waiting
        assert "GPU" in progress_message(job_hub, "bob", "Waiting")
        job_hub.stop_server("alice")
        wait_job(service, "jupyterhub-server", lambda j: j["status"] == "running", timeout=120)
    job_hub.wait_until(lambda: job_hub.server_ready("bob"), 120, "bob's server")
    job_hub.stop_server("bob")


def test_a_users_own_job_of_the_servers_name_is_left_alone(job_hub: RealHub) -> None:
    with api(job_hub.service_url, job_hub.service_token("carol")) as service:
        own = {"image": "ubuntu", "name": "jupyterhub-server", "command": "sleep 120"}
        assert service.post("jobs", json=own).status_code == 201
        refused = job_hub.admin("POST", "users/carol/server", {"preset": "cpu-small"})
        assert refused.status_code >= 400  # the spawn fails; her job is not killed for it
        assert service.get("jobs/jupyterhub-server").json()["status"] == "running"
        assert service.get("jobs/jupyterhub-server").json()["tags"] == []
        service.delete("jobs/jupyterhub-server")
    assert not job_hub.admin("GET", "users/carol").json()["servers"]  # nothing half-made


def test_an_unknown_or_forbidden_preset_fails_the_spawn_naming_it(job_hub: RealHub) -> None:
    refused = job_hub.admin("POST", "users/carol/server", {"preset": "gpu-huge"})
    assert refused.status_code >= 400
    assert "unknown preset 'gpu-huge'" in progress_message(job_hub, "carol", "preset")
    assert not job_hub.admin("GET", "users/carol").json()["servers"]
