"""A real server killed with SIGKILL and started again keeps its jobs."""

from __future__ import annotations

import json
import os
import signal

from tests.real_server import RealServer


def test_job_survives_a_server_killed_with_sigkill(real_server: RealServer) -> None:
    script = "echo first; sleep 3; echo second; exit 7"
    job = real_server.request(
        "POST", "jobs", {"image": "ubuntu", "command": ["sh", "-c", script], "name": "survivor"}
    )
    real_server.wait_job("survivor", lambda j: j["status"] == "running")
    real_server.kill_hard()

    real_server.start()
    again = real_server.request("GET", "jobs/survivor")
    assert again["id"] == job["id"]
    done = real_server.wait_job("survivor", lambda j: j["status"] in ("succeeded", "failed"))
    assert (done["status"], done["exit_code"]) == ("failed", 7)
    logs = real_server.request("GET", f"jobs/{job['id']}/logs")
    assert logs == b"first\nsecond\n"
    listing = real_server.request("GET", "jobs?all=true")
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]


def test_job_whose_process_vanished_while_down_is_failed_saying_so(
    real_server: RealServer,
) -> None:
    job = real_server.request("POST", "jobs", {"image": "ubuntu", "command": "sleep 60"})
    real_server.wait_job(job["id"], lambda j: j["status"] == "running")
    real_server.kill_hard()
    # While the server is down, the whole job (runner included) disappears.
    job_dir = real_server.data_dir / "jobs" / job["id"]
    runner = json.loads((job_dir / "runner.json").read_text())
    started = json.loads((job_dir / "started").read_text())
    os.kill(runner["pid"], signal.SIGKILL)
    os.killpg(started["pgid"], signal.SIGKILL)

    real_server.start()
    done = real_server.wait_job(job["id"], lambda j: j["status"] == "failed")
    assert done["reason"] == "ProcessVanished"
    assert "disappeared" in done["status_description"]
