"""The jobs service under a real JupyterHub: who gets in, owners, sharing with users and groups.

Everything goes through the hub's public port (configurable-http-proxy).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hub.realhub import SERVICE, RealHub, api, wait_job
from tests.real_server import free_port

APP = Path(__file__).parent.parent / "resources" / "upstream_app.py"
SCOPE = f"access:services!service={SERVICE}"


@pytest.fixture(scope="module")
def tokens(hub: RealHub) -> dict[str, str]:
    return {user: hub.service_token(user) for user in ("alice", "bob", "carol")}


@pytest.fixture(scope="module")
def as_user(hub: RealHub, tokens: dict[str, str]) -> Iterator[dict[str, httpx.Client]]:
    clients = {user: api(hub.service_url, token) for user, token in tokens.items()}
    yield clients
    for client in clients.values():
        client.close()


def sleeper(name: str, seconds: int = 120) -> dict[str, Any]:
    return {"image": "ubuntu", "name": name, "command": f"sleep {seconds}"}


def test_a_caller_without_a_login_or_the_scope_is_refused_with_a_reason(hub: RealHub) -> None:
    anonymous = httpx.get(f"{hub.service_url}presets")
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]

    bogus = httpx.get(f"{hub.service_url}presets", headers={"Authorization": "token nope"})
    assert bogus.status_code == 403

    unscoped = hub.token("alice", ["read:users:name!user"])
    refused = httpx.get(f"{hub.service_url}presets", headers={"Authorization": f"token {unscoped}"})
    assert refused.status_code == 403
    assert SCOPE in refused.json()["error"]
    assert "alice" in refused.json()["error"]


def test_jobs_are_owned_by_hub_users_and_hidden_from_others(
    as_user: dict[str, httpx.Client],
) -> None:
    created = as_user["alice"].post("jobs", json=sleeper("hidden"))
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["owner"] == "alice"

    for other in ("bob", "carol"):  # carol is a hub admin: she sees no one's jobs either
        assert as_user[other].get(f"jobs/{job['id']}").status_code == 404
        assert as_user[other].get("jobs/hidden--alice").status_code == 404
        listed = as_user[other].get("jobs", params={"all": "true"}).json()["jobs"]
        assert job["id"] not in [j["id"] for j in listed]
        assert as_user[other].delete(f"jobs/{job['id']}").status_code == 404
    assert as_user["alice"].delete("jobs/hidden").status_code == 200


def test_sharing_with_a_user_follows_the_levels(as_user: dict[str, httpx.Client]) -> None:
    alice, bob, carol = as_user["alice"], as_user["bob"], as_user["carol"]
    assert alice.post("jobs", json=sleeper("shared")).status_code == 201
    assert alice.put("jobs/shared/shares/bob", json={"level": "read"}).status_code == 200

    assert bob.get("jobs/shared--alice").json()["owner"] == "alice"
    assert "shared" in [j["name"] for j in bob.get("jobs").json()["jobs"]]
    refused = bob.delete("jobs/shared--alice")
    assert refused.status_code == 403
    assert "write" in refused.json()["error"]
    assert carol.get("jobs/shared--alice").status_code == 404

    assert alice.put("jobs/shared/shares/bob", json={"level": "write"}).status_code == 200
    killed = bob.delete("jobs/shared--alice")
    assert killed.status_code == 200
    assert killed.json()["status"] in ("cancelled", "running")


def test_sharing_with_a_hub_group_follows_the_hubs_membership(
    hub: RealHub, as_user: dict[str, httpx.Client]
) -> None:
    alice, bob, carol = as_user["alice"], as_user["bob"], as_user["carol"]
    assert alice.post("jobs", json=sleeper("for-ml")).status_code == 201
    granted = alice.put("jobs/for-ml/shares/group:ml", json={"level": "read"})
    assert granted.status_code == 200, granted.text
    assert {"user": "group:ml", "level": "read"}.items() <= granted.json().items()

    assert bob.get("jobs/for-ml--alice").status_code == 200  # bob is in ml
    assert carol.get("jobs/for-ml--alice").status_code == 404  # carol is not

    removed = hub.admin("DELETE", "groups/ml/users", {"users": ["bob"]})
    assert removed.status_code == 200, removed.text
    try:
        # The service asks the hub again once its answer is older than
        # cache_max_age (1 s here, GROUPS_FRESH_FOR in production).
        deadline = time.monotonic() + 30
        while bob.get("jobs/for-ml--alice").status_code != 404:
            assert time.monotonic() < deadline, "bob kept the group's access"
            time.sleep(0.3)
        listed = bob.get("jobs", params={"all": "true"}).json()["jobs"]
        assert "for-ml" not in [j["name"] for j in listed]
    finally:
        hub.admin("POST", "groups/ml/users", {"users": ["bob"]})
    deadline = time.monotonic() + 30
    while bob.get("jobs/for-ml--alice").status_code != 200:
        assert time.monotonic() < deadline, "bob did not get the group's access back"
        time.sleep(0.3)
    alice.delete("jobs/for-ml")


def test_a_jobs_url_is_its_address_under_the_hub(
    hub: RealHub, as_user: dict[str, httpx.Client]
) -> None:
    port = free_port()
    spec = {
        "image": "python",
        "name": "site",
        "command": f"{sys.executable} {APP} --port {port}",
        "http": {"port": port},
    }
    created = as_user["alice"].post("jobs", json=spec)
    assert created.status_code == 201, created.text
    job = wait_job(as_user["alice"], "site", lambda j: j["status"] == "running")
    assert job["http_url"] == f"{hub.url}services/{SERVICE}/jobs/site--alice/"

    # Forward-auth for an ingress in front of the hub (issue 11): the service's
    # own rule, hub groups included, for the job the original URI names.
    original = {"X-Original-URI": f"/services/{SERVICE}/jobs/site--alice/x"}
    opened = as_user["alice"].get("auth", headers=original)
    assert opened.status_code == 200, opened.text
    assert opened.headers["X-Neuro-Upstream"] == f"127.0.0.1:{port}"
    assert opened.headers["X-Neuro-User"] == "alice"
    assert opened.headers["X-Neuro-Prefix"] == f"/services/{SERVICE}/jobs/site--alice"
    assert as_user["bob"].get("auth", headers=original).status_code == 404
    granted = as_user["alice"].put("jobs/site/shares/group:ml", json={"level": "read"})
    assert granted.status_code == 200, granted.text
    assert as_user["bob"].get("auth", headers=original).status_code == 200  # bob is in ml
    anonymous = httpx.get(f"{hub.service_url}auth", headers=original)
    assert anonymous.status_code == 401
    assert (
        f"next=%2Fservices%2F{SERVICE}%2Fjobs%2Fsite--alice%2Fx"
        in anonymous.headers["X-Neuro-Login"]
    )
    as_user["alice"].delete("jobs/site")
