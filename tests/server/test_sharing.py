"""Two users: each sees only their own jobs and those shared with them
(directly, or through a JupyterHub group)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neuro_jupyter.server.base import SERVICE_KEY
from neuro_jupyter.service import JobService
from tests.conftest import ALICE_TOKEN, Api
from tests.server.test_api import job_when

pytestmark = pytest.mark.usefixtures("jp_serverapp")

SLEEP = {"image": "ubuntu", "command": "sleep 30"}


async def test_another_users_job_is_invisible_without_a_share(api: Api) -> None:
    _, job = await api("POST", "jobs", {**SLEEP, "name": "private"})
    for ref in (job["id"], "private--alice"):
        status, body = await api("GET", f"jobs/{ref}", user="bob")
        assert status == 404, body
        # The answer does not reveal that the job exists.
        assert body["error"] == f"job {ref} not found"
    status, _ = await api("DELETE", f"jobs/{job['id']}", user="bob")
    assert status == 404
    _, listing = await api("GET", "jobs", user="bob", params={"all": "true"})
    assert listing["jobs"] == []
    # bob's own name resolves to bob's jobs only
    status, _ = await api("GET", "jobs/private", user="bob")
    assert status == 404
    await api("DELETE", "jobs/private")


async def test_read_share_shows_the_job_but_does_not_allow_kill(api: Api) -> None:
    _, job = await api("POST", "jobs", {**SLEEP, "name": "shown"})
    status, share = await api("PUT", "jobs/shown/shares/bob", {"level": "read"})
    assert status == 200, share
    assert share == {"owner": "alice", "target": "shown", "user": "bob", "level": "read"}

    _, listing = await api("GET", "jobs", user="bob")
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]
    status, seen = await api("GET", "jobs/shown--alice", user="bob")
    assert status == 200 and seen["owner"] == "alice"
    status, _ = await api("GET", "jobs/shown--alice/logs", user="bob", raw=True)
    assert status == 200

    status, body = await api("DELETE", "jobs/shown--alice", user="bob")
    assert status == 403 and "write" in body["error"]
    status, body = await api("PUT", "jobs/shown--alice/shares/carol", {"level": "read"}, user="bob")
    assert status == 403

    status, _ = await api("DELETE", "jobs/shown/shares/bob")
    assert status == 204
    status, _ = await api("GET", "jobs/shown--alice", user="bob")
    assert status == 404
    await api("DELETE", "jobs/shown")


async def test_write_share_allows_kill(api: Api) -> None:
    _, job = await api("POST", "jobs", SLEEP)
    await api("PUT", f"jobs/{job['id']}/shares/bob", {"level": "write"})
    await job_when(api, job["id"], lambda j: j["status"] == "running", user="bob")
    status, killed = await api("DELETE", f"jobs/{job['id']}", user="bob")
    assert status == 200 and killed["status"] == "cancelled"


async def test_share_by_name_covers_later_jobs_of_that_name(api: Api) -> None:
    await api("POST", "jobs", {**SLEEP, "name": "nightly"})
    await api("PUT", "jobs/nightly/shares/bob", {"level": "read"})
    await api("DELETE", "jobs/nightly")
    _, later = await api("POST", "jobs", {**SLEEP, "name": "nightly"})
    status, seen = await api("GET", "jobs/nightly--alice", user="bob")
    assert status == 200 and seen["id"] == later["id"]
    status, shares = await api("GET", "jobs/nightly/shares")
    assert [s["user"] for s in shares["shares"]] == ["bob"]
    await api("DELETE", "jobs/nightly")


async def test_run_share_grants_write(api: Api) -> None:
    _, job = await api("POST", "jobs", {**SLEEP, "share": ["bob"]})
    status, shares = await api("GET", f"jobs/{job['id']}/shares")
    assert status == 200
    assert [(s["user"], s["level"]) for s in shares["shares"]] == [("bob", "write")]
    status, _ = await api("DELETE", f"jobs/{job['id']}", user="bob")
    assert status == 200


async def test_bad_share_requests_are_400(api: Api) -> None:
    _, job = await api("POST", "jobs", SLEEP)
    status, body = await api("PUT", f"jobs/{job['id']}/shares/bob", {"level": "admin"})
    assert (status, body["field"]) == (400, "level")
    status, body = await api("PUT", f"jobs/{job['id']}/shares/alice", {"level": "read"})
    assert (status, body["field"]) == (400, "user")
    status, body = await api("DELETE", f"jobs/{job['id']}/shares/nobody")
    assert status == 404
    await api("DELETE", f"jobs/{job['id']}")


# -- hub groups (issue 9) -------------------------------------------------------------
# A plain server never hears of groups; the hub's jobs service tells its JobService
# each user's groups on every request. Here the test says it, through that same method.


@pytest.fixture
def the_service(jp_serverapp: Any) -> JobService:
    """The server's own JobService (the real one the handlers call)."""
    service: JobService = jp_serverapp.web_app.settings[SERVICE_KEY]
    return service


async def test_a_group_share_reaches_members_until_they_leave(
    api: Api, the_service: JobService
) -> None:
    _, job = await api("POST", "jobs", {**SLEEP, "name": "team"})
    status, share = await api("PUT", "jobs/team/shares/group:ml", {"level": "read"})
    assert status == 200, share
    assert share == {"owner": "alice", "target": "team", "user": "group:ml", "level": "read"}
    _, shares = await api("GET", "jobs/team/shares")
    assert shares == {"shares": [share]}

    status, hidden = await api("GET", "jobs/team--alice", user="bob")
    assert (status, hidden["error"]) == (404, "job team--alice not found")

    the_service.observe_groups("bob", ["ml"])
    _, listing = await api("GET", "jobs", user="bob")
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]
    status, seen = await api("GET", "jobs/team--alice", user="bob")
    assert (status, seen["id"]) == (200, job["id"])
    status, body = await api("DELETE", "jobs/team--alice", user="bob")
    assert status == 403 and "write" in body["error"]

    the_service.observe_groups("bob", ["cv"])  # taken out of ml
    status, gone = await api("GET", "jobs/team--alice", user="bob")
    assert (status, gone) == (404, hidden)
    _, listing = await api("GET", "jobs", user="bob")
    assert listing["jobs"] == []
    await api("DELETE", "jobs/team")


async def test_unsharing_a_group(api: Api, the_service: JobService) -> None:
    _, job = await api("POST", "jobs", SLEEP)
    await api("PUT", f"jobs/{job['id']}/shares/group:ml", {"level": "write"})
    the_service.observe_groups("bob", ["ml"])
    status, _ = await api("GET", f"jobs/{job['id']}", user="bob")
    assert status == 200
    status, _ = await api("DELETE", f"jobs/{job['id']}/shares/group:ml")
    assert status == 204
    status, _ = await api("GET", f"jobs/{job['id']}", user="bob")
    assert status == 404
    status, body = await api("DELETE", f"jobs/{job['id']}/shares/group:ml")
    assert status == 404 and "not shared with group:ml" in body["error"]
    await api("DELETE", f"jobs/{job['id']}")


async def test_the_group_in_the_path_may_be_escaped_or_not(
    api: Api, http_server_client: Any, jp_base_url: str
) -> None:
    _, job = await api("POST", "jobs", SLEEP)
    shares = f"{jp_base_url}neuro/api/v1/jobs/{job['id']}/shares"
    auth = {"Authorization": f"token {ALICE_TOKEN}", "Content-Type": "application/json"}
    for path in ("group:ml", "group%3Aml", "group%3aml"):
        response = await http_server_client.fetch(
            f"{shares}/{path}", method="PUT", headers=auth, body=json.dumps({"level": "read"})
        )
        assert json.loads(response.body)["user"] == "group:ml", path
        response = await http_server_client.fetch(f"{shares}/{path}", method="DELETE", headers=auth)
        assert response.code == 204, path
    await api("DELETE", f"jobs/{job['id']}")


async def test_run_share_accepts_groups(api: Api, the_service: JobService) -> None:
    _, job = await api("POST", "jobs", {**SLEEP, "share": ["group:ml"]})
    _, shares = await api("GET", f"jobs/{job['id']}/shares")
    assert [(s["user"], s["level"]) for s in shares["shares"]] == [("group:ml", "write")]
    the_service.observe_groups("bob", ["ml"])
    await job_when(api, job["id"], lambda j: j["status"] == "running", user="bob")
    status, killed = await api("DELETE", f"jobs/{job['id']}", user="bob")
    assert (status, killed["status"]) == (200, "cancelled")


async def test_bad_group_grantees_are_400(api: Api) -> None:
    _, job = await api("POST", "jobs", SLEEP)
    for grantee in ("group:", "group:m l"):
        status, body = await api("PUT", f"jobs/{job['id']}/shares/{grantee}", {"level": "read"})
        assert (status, body["field"]) == (400, "user"), body
        assert "use group:NAME" in body["error"]
    status, body = await api("POST", "jobs", {**SLEEP, "share": ["group:"]})
    assert (status, body["field"]) == (400, "share")
    await api("DELETE", f"jobs/{job['id']}")
