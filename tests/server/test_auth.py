"""``GET auth``, the forward-auth endpoint (issue 11), against a real server and real jobs.

The same answers the in-server proxy gives, as headers an ingress can use:
who may open which job is the one rule of ``JobService.proxy_target``. The
endpoint behind a real nginx is in ``test_auth_nginx.py``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tornado.httpclient import HTTPResponse
from traitlets import TraitError

from neuro_jupyter.config import NeuroJobs
from neuro_jupyter.server.proxy import SANDBOX_CSP
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, Api
from tests.server.test_proxy import Start, start_app  # noqa: F401

pytestmark = pytest.mark.usefixtures("jp_serverapp")

Ask = Any


@pytest.fixture
def ask(jp_fetch: Any, jp_base_url: str, openapi_checker: Any) -> Ask:
    """Ask ``GET auth`` about ``path`` (under the jobs' path) as nginx would, as a user."""

    async def call(
        path: str | None,
        *,
        user: str | None = "alice",
        headers: dict[str, str] | None = None,
        under_jobs: bool = True,
    ) -> HTTPResponse:
        # No token at all is no user (jp_fetch would add alice's).
        token = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}.get(user or "", "nobody")
        sent = {"Authorization": f"token {token}"}
        if path is not None:
            uri = f"{jp_base_url}neuro/jobs/{path}" if under_jobs else path
            sent["X-Original-URI"] = uri
        sent.update(headers or {})
        response: HTTPResponse = await jp_fetch(
            "neuro", "api", "v1", "auth", headers=sent, raise_error=False
        )
        openapi_checker.check("GET", f"{jp_base_url}neuro/api/v1/auth", response, {})
        return response

    return call


def cache_of(response: HTTPResponse) -> tuple[str, str]:
    return response.headers["Cache-Control"], response.headers["X-Accel-Expires"]


async def test_the_owner_gets_the_upstream_and_what_to_send_the_job(
    start_app: Start,  # noqa: F811
    ask: Ask,
    jp_base_url: str,
) -> None:
    job = await start_app("web")
    cookie = "_xsrf=abc; theirs=1; username-127-0-0-1-8888=secret; other=2"
    response = await ask("web/some/page?x=1", headers={"Cookie": cookie})
    assert response.code == 200
    headers = response.headers
    assert headers["X-Neuro-Upstream"] == f"127.0.0.1:{job['port']}"
    assert headers["X-Neuro-Job"] == job["id"]
    assert headers["X-Neuro-User"] == "alice"
    assert headers["X-Neuro-Prefix"] == f"{jp_base_url}neuro/jobs/web"
    assert headers["X-Neuro-Path-Prefix"] == ""
    assert headers["X-Neuro-Cookie"] == "theirs=1; other=2"
    assert headers["X-Neuro-CSP"] == ""  # the owner's own pages
    assert cache_of(response) == ("private, max-age=5", "5")
    # nginx honours X-Accel-Expires only before Cache-Control's "private".
    names = [name.lower() for name, _ in headers.get_all()]
    assert names.index("x-accel-expires") < names.index("cache-control")


async def test_every_proxys_header_names_the_same_job(
    start_app: Start,  # noqa: F811
    ask: Ask,
    jp_base_url: str,
) -> None:
    job = await start_app("web")
    uri = f"{jp_base_url}neuro/jobs/{job['id']}/x?y=1"
    forms = [
        {"X-Original-URL": f"https://jupyter.example.com{uri}"},  # ingress-nginx
        {"X-Original-URI": uri, "X-Original-Host": "jupyter.example.com"},  # nginx
        {"X-Forwarded-Uri": uri, "X-Forwarded-Host": "jupyter.example.com"},  # Traefik
    ]
    for form in forms:
        response = await ask(None, headers=form)
        assert response.code == 200, (form, response.body)
        assert response.headers["X-Neuro-Job"] == job["id"]
    # ingress-nginx's header wins over the others: a visitor's X-Original-URI
    # passes through ingress-nginx, its X-Original-URL never does.
    forged = {"X-Original-URL": f"http://h{jp_base_url}neuro/jobs/nosuch/", "X-Original-URI": uri}
    assert (await ask(None, headers=forged)).code == 404


async def test_others_get_404_until_shared_and_again_once_unshared(
    start_app: Start,  # noqa: F811
    ask: Ask,
    api: Api,
) -> None:
    await start_app("web")
    refused = await ask("web--alice/", user="bob")
    assert refused.code == 404
    assert cache_of(refused) == ("private, max-age=5", "5")
    assert "X-Neuro-Upstream" not in refused.headers
    assert (await ask("nosuch--alice/", user="bob")).body == (
        b'{"error": "job nosuch--alice not found", "field": null}'
    )
    status, _ = await api("PUT", "jobs/web/shares/bob", {"level": "read"})
    assert status in (200, 201)
    shared = await ask("web--alice/", user="bob")
    assert shared.code == 200
    assert shared.headers["X-Neuro-User"] == "bob"
    assert shared.headers["X-Neuro-CSP"] == SANDBOX_CSP  # someone else's pages, sandboxed
    status, _ = await api("DELETE", "jobs/web/shares/bob")
    assert status == 204
    assert (await ask("web--alice/", user="bob")).code == 404


async def test_an_anonymous_visitor_gets_401_with_the_login_page(
    start_app: Start,  # noqa: F811
    ask: Ask,
    jp_base_url: str,
) -> None:
    await start_app("web")
    for path in ("web--alice/a?b=1&c=2", "nosuch--alice/"):  # existence not revealed
        response = await ask(path, user=None)
        assert response.code == 401
        assert response.headers["Cache-Control"] == "no-store"
        login = urlsplit(response.headers["X-Neuro-Login"])
        assert login.path == f"{jp_base_url}login"
        assert parse_qs(login.query)["next"] == [f"{jp_base_url}neuro/jobs/{path}"]


async def test_a_public_job_opens_for_anyone(
    start_app: Start,  # noqa: F811
    ask: Ask,
) -> None:
    await start_app("open", auth=False)
    response = await ask("open--alice/", user=None)
    assert response.code == 200
    assert response.headers["X-Neuro-User"] == ""
    assert response.headers["X-Neuro-CSP"] != ""


async def test_an_ended_job_answers_503(
    start_app: Start,  # noqa: F811
    ask: Ask,
    api: Api,
) -> None:
    await start_app("web")
    status, _ = await api("DELETE", "jobs/web")
    assert status in (200, 204)
    response = await ask("web/", user="alice")
    assert response.code == 503
    assert cache_of(response) == ("private, max-age=5", "5")


async def test_a_keep_prefix_job_is_told_its_own_prefix_whatever_the_ref(
    start_app: Start,  # noqa: F811
    ask: Ask,
    jp_base_url: str,
) -> None:
    job = await start_app("kept", keep_prefix=True)
    response = await ask(f"{job['id']}/app")
    assert response.code == 200
    assert response.headers["X-Neuro-Prefix"] == ""  # nothing stripped: no prefix header
    assert response.headers["X-Neuro-Path-Prefix"] == f"{jp_base_url}neuro/jobs/kept--alice"


async def test_requests_naming_no_job(ask: Ask, jp_base_url: str) -> None:
    missing = await ask(None)
    assert missing.code == 400
    assert b"X-Original-URI" in missing.body
    for uri in (f"{jp_base_url}lab", f"{jp_base_url}neuro/jobs/", f"{jp_base_url}neuro/jobs/%%/"):
        response = await ask(uri, under_jobs=False)
        assert response.code == 404, uri
    # Hosts that are no host name (schemathesis found the first) name no job.
    for host in ("$&~4^]", "[::1", "a b"):
        headers = {"X-Original-Host": host}
        response = await ask(f"{jp_base_url}neuro/jobs/x/", under_jobs=False, headers=headers)
        assert response.code == 404, host
    assert (await ask(None, headers={"X-Original-URL": "http://[x/neuro/jobs/x/"})).code == 404


def test_the_cache_age_is_never_negative() -> None:
    assert NeuroJobs(auth_cache_max_age=0).auth_cache_max_age == 0
    with pytest.raises(TraitError, match="auth_cache_max_age must be 0 or more"):
        NeuroJobs(auth_cache_max_age=-1)
