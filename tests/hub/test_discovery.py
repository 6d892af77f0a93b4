"""How a user's server finds the hub's jobs service (or runs jobs itself)."""

from __future__ import annotations

from neuro_jupyter.hub.relay import JobsService, find_jobs_service
from tests.hub.realhub import SERVICE, RealHub


def test_a_configured_url_wins_and_names_the_public_prefix() -> None:
    found = find_jobs_service(
        "http://hub:10101/services/jobs", "neuro", {"JUPYTERHUB_API_TOKEN": "t"}
    )
    assert found == JobsService("http://hub:10101/services/jobs/", "/services/jobs/", "t")
    assert (found.origin, found.path) == ("http://hub:10101", "/services/jobs/")


def test_outside_a_hub_there_is_nothing_to_find() -> None:
    assert find_jobs_service("", "neuro", {}) is None
    hub_env = {"JUPYTERHUB_API_URL": "x", "JUPYTERHUB_API_TOKEN": "t"}
    assert find_jobs_service("", "", hub_env) is None  # no service name: never look


def test_the_hub_tells_a_server_where_its_service_is(hub: RealHub) -> None:
    token = hub.token("alice", [f"read:services!service={SERVICE}"])
    environ = {"JUPYTERHUB_API_URL": f"{hub.url}hub/api", "JUPYTERHUB_API_TOKEN": token}
    found = find_jobs_service("", SERVICE, environ)
    assert found == JobsService(
        f"http://127.0.0.1:{hub.service_port}/services/{SERVICE}/", f"/services/{SERVICE}/", token
    )
    # A service the hub does not have, or may not show: no relay, jobs run here.
    assert find_jobs_service("", "no-such-service", environ) is None
    unscoped = hub.token("alice", ["read:users:name!user"])
    assert find_jobs_service("", SERVICE, {**environ, "JUPYTERHUB_API_TOKEN": unscoped}) is None
