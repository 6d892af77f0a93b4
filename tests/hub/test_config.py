"""jupyterhub_config.py at the repository's root runs as it is on one machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.hub.realhub import REPO, RealHub, api, wait_job

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def our_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHub]:
    hub = RealHub(tmp_path_factory.mktemp("our-hub"), config=REPO / "jupyterhub_config.py")
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_any_user_logs_in_and_runs_a_job_from_their_server(our_hub: RealHub) -> None:
    with closing(our_hub.login("dana")) as browser:  # any name, the shared password
        run_a_job_as_dana(our_hub, browser)
    # The jobs live in the service, in the hub's state folder.
    assert (our_hub.dir / "state" / "neuro").is_dir(), our_hub.log.read_text()[-6000:]


def run_a_job_as_dana(our_hub: RealHub, browser: httpx.Client) -> None:
    form = browser.get("hub/spawn")  # the spawn form: the presets
    assert form.status_code == 200, form.text
    assert 'name="preset" value="cpu-small"' in form.text
    assert "cpu-small — 1 CPU, 2 GiB, no GPU" in form.text
    xsrf = browser.cookies.get("_xsrf", path="/hub/")
    spawned = browser.post("hub/spawn", data={"preset": "cpu-small", "_xsrf": xsrf})
    assert spawned.status_code == 200, spawned.text  # the spawn-pending page
    our_hub.wait_until(
        lambda: bool(browser.get("hub/api/user").json()["servers"].get("", {}).get("ready")),
        120,
        "dana's server",
    )
    made = browser.post(
        "hub/api/users/dana/tokens",
        json={"scopes": ["access:servers!user=dana"]},
        headers={"X-XSRFToken": xsrf},
    )
    assert made.status_code == 201, made.text
    with api(our_hub.server_api("dana"), made.json()["token"]) as relay:
        created = relay.post(
            "jobs", json={"image": "ubuntu", "name": "first", "command": "echo hi from the hub"}
        )
        assert created.status_code == 201, created.text
        job = wait_job(relay, "first", lambda j: j["status"] == "succeeded")
        assert job["owner"] == "dana"
        # Her server is itself a job, on the preset she picked.
        server = relay.get("jobs/jupyterhub-server").json()
        assert (server["status"], server["preset"], server["tags"]) == (
            "running",
            "cpu-small",
            ["jupyterhub:server"],
        )
        assert relay.get("jobs/first/logs").text == "hi from the hub\n"


def test_the_config_is_the_one_scripts_hub_starts() -> None:
    script = (REPO / "scripts" / "hub").read_text()
    assert "jupyterhub -f jupyterhub_config.py" in script
    assert Path(REPO / "scripts" / "hub").stat().st_mode & 0o111
