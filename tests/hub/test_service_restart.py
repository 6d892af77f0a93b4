"""The jobs service killed with SIGKILL mid-job, and started again by the hub.

Runs after the other hub tests (the service is gone for up to ~35 s, until
the hub's next poll of its managed services).
"""

from __future__ import annotations

import signal
from types import SimpleNamespace

import httpx
import pytest

from tests.hub.realhub import RealHub, api, wait_job
from tests.notebook import ServerKernel, run_cells

TICKS = 12


def test_the_service_killed_mid_job_keeps_its_jobs_and_the_relay_says_so(hub: RealHub) -> None:
    hub.start_server("alice")
    with (
        api(hub.server_api("alice"), hub.server_token("alice")) as relay,
        api(hub.service_url, hub.service_token("alice")) as service,
    ):
        spec = {
            "image": "ubuntu",
            "name": "survivor",
            "command": f"bash -c 'for i in $(seq {TICKS}); do echo tick $i; sleep .5; done; "
            "exit 3'",
        }
        assert relay.post("jobs", json=spec).status_code == 201
        wait_job(relay, "survivor", lambda j: j["status"] == "running")

        process = hub.service_process()
        assert process is not None
        # Straight to alice's server: configurable-http-proxy (node's http-proxy)
        # does not pass a cut-off answer on as one; it leaves its client waiting.
        with (
            api(hub.server_direct_api("alice"), hub.server_token("alice")) as direct,
            direct.stream("GET", "jobs/survivor/logs", params={"follow": "true"}) as stream,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            chunks = stream.iter_raw()
            assert next(chunks).startswith(b"tick 1")
            process.send_signal(signal.SIGKILL)
            for _ in chunks:  # the cut-off stream ends in an error, never cleanly
                pass

        down = relay.get("jobs")
        assert down.status_code == 503
        assert down.json()["error"].startswith("jobs service unavailable at http://127.0.0.1:")
        refused = relay.post("jobs", json={"image": "ubuntu", "name": "never", "command": "true"})
        assert refused.status_code == 503
        # The magics say it in one line, with no traceback.
        server = SimpleNamespace(api=hub.server_api("alice"))
        kernel = ServerKernel(server, hub.runtime_dir("alice"), hub.server_token("alice"))
        try:
            _, said = run_cells(kernel, "%load_ext neuro_jupyter", "%neuro ps")
        finally:
            kernel.shutdown()
        assert "jobs service unavailable at http://127.0.0.1:" in said, said
        assert "Traceback" not in said

        hub.wait_service(timeout=90)  # the hub polls its services every ~30 s
        done = wait_job(service, "survivor", lambda j: j["status"] != "running", timeout=60)
        assert (done["status"], done["exit_code"]) == ("failed", 3)
        assert relay.get("jobs/survivor/logs").text == "".join(
            f"tick {i}\n" for i in range(1, TICKS + 1)
        )
        # The POST refused while the service was down was not replayed.
        assert relay.get("jobs/never").status_code == 404
        assert relay.get("jobs", params={"all": "true", "name": "never"}).json()["jobs"] == []
