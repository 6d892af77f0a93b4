"""Users' servers under a real JupyterHub relay neuro/api to the jobs service.

alice's server is a real ``jupyterhub-singleuser`` started by the hub; its
kernels and terminals reach the API with no setup, and her jobs live on in
the service when the server stops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from types import SimpleNamespace

import httpx
import pytest
from websockets.sync.client import connect

from tests.hub.realhub import VENV_BIN, RealHub, api, wait_job
from tests.notebook import ServerKernel, run_cells


@pytest.fixture(scope="module")
def alice_server(hub: RealHub) -> Iterator[str]:
    """alice's server, running; her token for it."""
    hub.start_server("alice")
    yield hub.server_token("alice")


@pytest.fixture
def service(hub: RealHub) -> Iterator[httpx.Client]:
    """alice on the jobs service itself (not through her server)."""
    with api(hub.service_url, hub.service_token("alice")) as client:
        yield client


def test_a_kernel_runs_jobs_on_the_service_and_a_terminal_lists_them(
    hub: RealHub, alice_server: str, service: httpx.Client
) -> None:
    server = SimpleNamespace(api=hub.server_api("alice"))
    kernel = ServerKernel(server, hub.runtime_dir("alice"), alice_server)
    try:
        out = run_cells(
            kernel,
            "%load_ext neuro_jupyter",
            "%neuro run --name hello ubuntu echo hello from the hub",
            "import os; print(os.environ['NEURO_API_URL'])",
            "%neuro run --detach --name long ubuntu sleep 120",
            "%neuro exec long -- echo inside the job",
        )
    finally:
        kernel.shutdown()
    assert "hello from the hub" in out[1], out
    assert out[2].strip().endswith("/user/alice/neuro/api/v1/"), out
    assert "inside the job" in out[4], out

    hello = service.get("jobs/hello").json()
    assert (hello["owner"], hello["status"], hello["exit_code"]) == ("alice", "succeeded", 0)

    name = httpx.post(
        f"{hub.url}user/alice/api/terminals",
        headers={"Authorization": f"token {alice_server}"},
        timeout=30,
    ).json()["name"]
    seen = ""
    url = f"ws://127.0.0.1:{hub.public_port}/user/alice/terminals/websocket/{name}"
    with connect(url, additional_headers={"Authorization": f"token {alice_server}"}) as terminal:
        # A login shell: its PATH is the system's, so name the venv's command.
        terminal.send(json.dumps(["stdin", f"{VENV_BIN}/neuro-jupyter ps\r"]))
        deadline = time.monotonic() + 60
        while "long" not in seen.split("neuro-jupyter ps", 1)[-1]:  # the output, not the echo
            assert time.monotonic() < deadline, seen
            try:
                message = json.loads(terminal.recv(timeout=1))
            except TimeoutError:
                continue
            if message[0] == "stdout":
                seen += message[1]
    assert "running" in seen
    service.delete("jobs/long")


def test_the_relay_streams_logs_and_events_as_they_come(
    hub: RealHub, alice_server: str, service: httpx.Client
) -> None:
    spec = {
        "image": "ubuntu",
        "name": "ticker",
        "command": "bash -c 'echo first; sleep 30; echo last'",
    }
    with api(hub.server_api("alice"), alice_server) as relay:
        assert relay.post("jobs", json=spec).status_code == 201
        with relay.stream("GET", "jobs/ticker/logs", params={"follow": "true"}) as response:
            assert response.status_code == 200
            first = next(response.iter_raw())
        assert first.startswith(b"first")  # 30 s before the job ends: nothing was buffered
        with relay.stream("GET", "jobs/ticker/top", params={"interval": "0.2"}) as events:
            assert events.headers["Content-Type"].startswith("text/event-stream")
            sample = next(line for line in events.iter_lines() if line.startswith("data:"))
        assert "cpu" in json.loads(sample[len("data:") :])  # an event while the job runs
        # Job changes as they happen (issue 12): the stream never ends, so the
        # kill's event arriving at all means nothing held it back.
        with relay.stream("GET", "events", params={"name": "ticker"}) as changes:
            assert changes.headers["Content-Type"].startswith("text/event-stream")
            lines = changes.iter_lines()
            assert next(lines).startswith("retry:")  # the stream is open
            service.delete("jobs/ticker", params={"wait": "false"})
            ended = next(
                json.loads(line[len("data:") :])
                for line in lines
                if line.startswith("data:") and '"cancelled"' in line
            )
        assert (ended["name"], ended["status"]) == ("ticker", "cancelled")


def test_jobs_outlive_the_users_server(
    hub: RealHub, alice_server: str, service: httpx.Client
) -> None:
    spec = {
        "image": "ubuntu",
        "name": "outlive",
        "command": "bash -c 'for i in 1 2 3 4 5 6; do echo line $i; sleep 1; done'",
    }
    with api(hub.server_api("alice"), alice_server) as relay:
        assert relay.post("jobs", json=spec).status_code == 201
        wait_job(relay, "outlive", lambda j: j["status"] == "running")

    hub.stop_server("alice")  # as an admin, or jupyterhub-idle-culler, would
    assert service.get("jobs/outlive").json()["status"] == "running"
    done = wait_job(service, "outlive", lambda j: j["status"] != "running")
    assert (done["status"], done["exit_code"]) == ("succeeded", 0)

    hub.start_server("alice")
    with api(hub.server_api("alice"), hub.server_token("alice")) as relay:
        log = relay.get("jobs/outlive/logs").text
    assert log == "".join(f"line {i}\n" for i in range(1, 7))


def test_only_the_servers_owner_is_relayed(hub: RealHub, alice_server: str) -> None:
    # bob may not reach alice's server at all: the hub refuses him first.
    bob = hub.token("bob", ["access:servers!user=bob"])
    refused = httpx.get(
        f"{hub.server_api('alice')}jobs", headers={"Authorization": f"token {bob}"}, timeout=30
    )
    assert refused.status_code in (403, 404)
    anonymous = httpx.get(f"{hub.server_api('alice')}jobs", timeout=30)
    assert anonymous.status_code == 403


def test_a_job_address_on_the_users_server_leads_to_the_service(
    hub: RealHub, alice_server: str
) -> None:
    response = httpx.get(
        f"{hub.url}user/alice/neuro/jobs/site--alice/page?x=1",
        headers={"Authorization": f"token {alice_server}"},
        timeout=30,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/services/neuro/jobs/site--alice/page?x=1"


def test_a_browser_posts_through_the_relay_with_its_xsrf_token_only(
    hub: RealHub, alice_server: str, service: httpx.Client
) -> None:
    with closing(hub.login("alice")) as browser:
        assert browser.get("user/alice/lab").status_code == 200  # the server's OAuth login
        spec = {"image": "ubuntu", "name": "from-the-browser", "command": "true"}
        forged = browser.post("user/alice/neuro/api/v1/jobs", json=spec)
        assert forged.status_code == 403
        assert "xsrf" in forged.json()["error"].lower()
        assert service.get("jobs/from-the-browser").status_code == 404  # nothing made
        xsrf = browser.cookies.get("_xsrf", path="/user/alice/")
        made = browser.post(
            "user/alice/neuro/api/v1/jobs", json=spec, headers={"X-XSRFToken": xsrf}
        )
        assert made.status_code == 201, made.text
        assert made.json()["owner"] == "alice"
