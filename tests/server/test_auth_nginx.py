"""deploy/ingress/nginx/ in front of a real jupyter server and real jobs (issue 11).

Debian's nginx runs the shipped configuration (``tests/server/nginx.py``);
Jupyter answers its forward-auth subrequests and nginx forwards to the jobs,
which are ``tests/resources/upstream_app.py`` echoing what reached them. The
server keeps answers ``MAX_AGE`` seconds, so a change of rights shows within it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import websocket_connect
from traitlets.config import Config

from neuro_jupyter.server.proxy import SANDBOX_CSP
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, Api
from tests.server.nginx import JUPYTER_HOST, NGINX, Nginx
from tests.server.test_proxy import Start, seen, start_app  # noqa: F401
from tests.server.test_proxy_streaming import RssPeak
from tests.utils import wait_for

pytestmark = [
    pytest.mark.usefixtures("jp_serverapp"),
    pytest.mark.skipif(NGINX is None, reason="scripts/test installs nginx-light"),
]

MAX_AGE = 2
TOKENS = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}
GiB = 1 << 30


@pytest.fixture
def jp_base_url() -> str:
    """The shipped configuration serves Jupyter at the root."""
    return "/"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    config = Config(jp_server_config)
    config.NeuroJobs.auth_cache_max_age = MAX_AGE
    # As deploy/ingress/nginx/neuro-jupyter.conf tells: the Host is the visitor's.
    config.ServerApp.allow_remote_access = True
    return config


@pytest.fixture
async def nginx(tmp_path: Path, jp_http_port: int, http_server_client: Any) -> AsyncIterator[Nginx]:
    server = Nginx(tmp_path / "nginx", jp_http_port)
    server.start()
    yield server
    server.stop()


Get = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def get(nginx: Nginx) -> Get:
    """A request to nginx as a user (or anonymous), never following redirects."""

    async def call(
        path: str,
        *,
        user: str | None = "alice",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> HTTPResponse:
        sent = {"Host": JUPYTER_HOST}
        if user is not None:
            sent["Authorization"] = f"token {TOKENS[user]}"
        sent.update(headers or {})
        kw.setdefault("request_timeout", 60)
        request = HTTPRequest(
            f"http://127.0.0.1:{nginx.port}{path}", headers=sent, follow_redirects=False, **kw
        )
        client = AsyncHTTPClient(force_instance=True, max_body_size=1 << 40)
        try:
            return await client.fetch(request, raise_error=False)
        finally:
            client.close()

    return call


async def code_becomes(get: Get, path: str, code: int, **kw: Any) -> None:
    """Wait (at most MAX_AGE and some) until ``path`` answers ``code``."""

    async def answered() -> bool:
        return (await get(path, **kw)).code == code

    await wait_for(answered, timeout=MAX_AGE + 5)


async def test_the_owner_reaches_the_job_which_never_sees_jupyters_credentials(
    start_app: Start,  # noqa: F811
    get: Get,
    jp_fetch: Any,
) -> None:
    await start_app("web")
    # The configured c.NeuroJobs.auth_cache_max_age is what nginx is told.
    asked = await jp_fetch(
        "neuro", "api", "v1", "auth", headers={"X-Original-URI": "/neuro/jobs/web/"}
    )
    assert asked.headers["Cache-Control"] == f"private, max-age={MAX_AGE}"
    response = await get(
        f"/neuro/jobs/web/p?token={ALICE_TOKEN}&keep=1",
        headers={
            "Cookie": "_xsrf=abc; theirs=1; username-jupyter-example-com=secret; other=2",
            "X-Neuro-User": "mallory",
            "X-Forwarded-Prefix": "/forged",
            "X-Forwarded-For": "6.6.6.6",
        },
    )
    assert response.headers["X-Upstream"] == "yes"  # the job answered
    data = seen(response)
    text = response.body.decode()
    assert ALICE_TOKEN not in text and "secret" not in text and "_xsrf" not in text
    assert data["uri"] == "/p?keep=1"
    assert data["cookies"] == {"theirs": "1", "other": "2"}
    assert "authorization" not in data["header_names"]
    assert data["header"]["x-neuro-user"] == "alice"
    assert data["header"]["x-forwarded-for"] == "127.0.0.1"
    for name in ("x-forwarded-prefix", "x-forwarded-context", "x-proxycontextpath"):
        assert data["header"][name] == "/neuro/jobs/web", name
    assert "Content-Security-Policy" not in response.headers  # the owner's own pages


async def test_redirects_and_cookies_stay_under_the_prefix_and_keep_prefix_jobs_get_theirs(
    start_app: Start,  # noqa: F811
    get: Get,
) -> None:
    job = await start_app("web")
    moved = await get("/neuro/jobs/web/redirect?to=/elsewhere")
    assert (moved.code, moved.headers["Location"]) == (302, "/neuro/jobs/web/elsewhere")
    cookies = (await get("/neuro/jobs/web/set-cookies")).headers.get_list("Set-Cookie")
    assert cookies[0] == "first=1; Path=/neuro/jobs/web/"
    kept = await start_app("kept", keep_prefix=True)
    data = seen(await get(f"/neuro/jobs/{kept['id']}/app?x=1"))
    assert data["uri"] == "/neuro/jobs/kept--alice/app?x=1"
    assert not {"x-forwarded-prefix", "x-forwarded-context"} & data["header_names"]
    assert job["id"] != kept["id"]


async def test_shares_kills_and_anonymous_visitors(
    start_app: Start,  # noqa: F811
    get: Get,
    api: Api,
) -> None:
    await start_app("web")
    # The second answer comes from nginx's cache: a refusal keeps its status.
    for _ in range(2):
        assert (await get("/neuro/jobs/web--alice/", user="bob")).code == 404
    status, _ = await api("PUT", "jobs/web/shares/bob", {"level": "read"})
    assert status in (200, 201)
    await code_becomes(get, "/neuro/jobs/web--alice/", 200, user="bob")
    shared = await get("/neuro/jobs/web--alice/", user="bob")
    assert seen(shared)["header"]["x-neuro-user"] == "bob"
    assert shared.headers["Content-Security-Policy"] == SANDBOX_CSP
    status, _ = await api("DELETE", "jobs/web/shares/bob")
    await code_becomes(get, "/neuro/jobs/web--alice/", 404, user="bob")

    browser = await get(
        "/neuro/jobs/web--alice/x?a=1&b=2", user=None, headers={"Accept": "text/html"}
    )
    assert browser.code == 302
    login = urlsplit(browser.headers["Location"])
    assert login.path == "/login"
    assert parse_qs(login.query)["next"] == ["/neuro/jobs/web--alice/x?a=1&b=2"]
    program = await get("/neuro/jobs/web--alice/x", user=None)
    assert program.code == 401
    assert json.loads(program.body)["error"]

    await start_app("open", auth=False)
    public = await get("/neuro/jobs/open--alice/", user=None)
    assert "x-neuro-user" not in seen(public)["header_names"]

    await api("DELETE", "jobs/web")
    await code_becomes(get, "/neuro/jobs/web--alice/", 503)


async def test_forged_original_uri_or_host_cannot_open_another_job(
    start_app: Start,  # noqa: F811
    get: Get,
) -> None:
    await start_app("web")
    await start_app("mine", user="bob")
    own = "/neuro/jobs/mine--bob/"
    assert (await get(own, user="bob")).code == 200
    forged = {
        "X-Original-URI": own,
        "X-Original-URL": f"http://{JUPYTER_HOST}{own}",
        "X-Forwarded-Uri": own,
        "X-Original-Host": JUPYTER_HOST,
    }
    assert (await get("/neuro/jobs/web--alice/", user="bob", headers=forged)).code == 404
    # A Host of the job-host form: the job is still the one Jupyter reads from
    # what nginx saw, and judged by the same rule.
    other_host = {"Host": "web--alice.jobs.example.com"}
    assert (await get("/neuro/jobs/web--alice/", user="bob", headers=other_host)).code == 404


async def test_websockets_pass_for_those_who_may_open_and_are_refused_before_the_upgrade(
    start_app: Start,  # noqa: F811
    nginx: Nginx,
    api: Api,
) -> None:
    await start_app("web")
    await start_app("open", auth=False)

    def request(job: str, user: str | None) -> HTTPRequest:
        headers = {"Host": JUPYTER_HOST}
        if user is not None:
            headers["Authorization"] = f"token {TOKENS[user]}"
        url = f"ws://127.0.0.1:{nginx.port}/neuro/jobs/{job}/ws"
        return HTTPRequest(url, headers=headers)

    async def echoes(job: str, user: str | None) -> None:
        ws = await websocket_connect(request(job, user))
        try:
            assert json.loads(await ws.read_message()) == {"protocol": None}  # type: ignore[arg-type]
            await ws.write_message(f"through nginx to {job}")
            assert await ws.read_message() == f"through nginx to {job}"
        finally:
            ws.close()

    await echoes("web--alice", "alice")
    await echoes("open--alice", None)  # a public job: anyone
    for user, code in ((None, 401), ("bob", 404)):
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(request("web--alice", user))
        assert refused.value.code == code
    status, _ = await api("PUT", "jobs/web/shares/bob", {"level": "read"})
    assert status in (200, 201)

    async def shared() -> bool:
        try:
            await echoes("web--alice", "bob")
        except HTTPClientError:  # bob's refusal, kept up to MAX_AGE
            return False
        return True

    await wait_for(shared, timeout=MAX_AGE + 5)


async def test_a_1_gib_download_is_exact_and_nginx_memory_stays_flat(
    start_app: Start,  # noqa: F811
    get: Get,
    nginx: Nginx,
) -> None:
    await start_app("numbered")
    assert (await get("/neuro/jobs/numbered/numbered?n=3145733")).code == 200
    [worker] = nginx.workers()
    received = {"size": 0, "crc": 0}

    def count(chunk: bytes) -> None:
        received["size"] += len(chunk)
        received["crc"] = zlib.crc32(chunk, received["crc"])

    with RssPeak(worker.pid) as rss:
        before = rss.peak
        response = await get(f"/neuro/jobs/numbered/numbered?n={GiB}", streaming_callback=count)
    assert response.code == 200
    assert received["size"] == GiB

    async def sent_all() -> bool:
        sent = seen_json(await get("/neuro/jobs/numbered/numbered-sent"))
        return sent.get("bytes") == GiB

    await wait_for(sent_all, timeout=10)
    sent = seen_json(await get("/neuro/jobs/numbered/numbered-sent"))
    assert sent == {"bytes": GiB, "crc32": received["crc"]}
    growth = rss.peak - before
    assert growth < 20 * 1000 * 1000, f"nginx's worker grew by {growth / (1 << 20):.1f} MiB"


def seen_json(response: HTTPResponse) -> dict[str, Any]:
    assert response.code == 200, response.body[:300]
    data: dict[str, Any] = json.loads(response.body)
    return data
