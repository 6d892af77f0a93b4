"""Jobs on hosts of their own (``c.NeuroJobs.job_host_template``), black box.

The server is asked for ``web--alice.jobs.example.com`` by its Host header, as
wildcard DNS would send a browser there; the job is ``upstream_app.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.websocket import websocket_connect
from traitlets.config import Config

from neuro_jupyter.jobs.addresses import HostTemplate
from neuro_jupyter.server.proxy_host import JobHostProxyHandler, add_host_routes
from tests.conftest import ALICE_TOKEN, Api
from tests.server.test_api import finished, job_when
from tests.server.test_proxy import (  # noqa: F401  (fixtures)
    TOKENS,
    Fetch,
    Start,
    fetch,
    seen,
    start_app,
)

pytestmark = pytest.mark.usefixtures("jp_serverapp")

DOMAIN = "jobs.example.com"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.NeuroJobs.job_host_template = "{name}--{owner}." + DOMAIN
    return jp_server_config


HostFetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def host_fetch(jp_http_port: int, http_server_client: Any) -> HostFetch:
    """A request for ``host`` (its Host header) as a user or anonymous; no redirects."""

    async def call(
        host: str, path: str = "/", *, user: str | None = "alice", **kw: Any
    ) -> HTTPResponse:
        headers = {"Host": host, **kw.pop("headers", {})}
        if user is not None:
            headers["Authorization"] = f"token {TOKENS[user]}"
        url = f"http://127.0.0.1:{jp_http_port}{path}"
        request = HTTPRequest(url, headers=headers, follow_redirects=False, **kw)
        client = AsyncHTTPClient(force_instance=True)
        try:
            return await client.fetch(request, raise_error=False)
        finally:
            client.close()

    return call


def sandboxed(response: HTTPResponse) -> bool:
    return any("sandbox" in c for c in response.headers.get_list("Content-Security-Policy"))


async def test_the_jobs_host_reaches_it_at_its_root_every_path_included(
    start_app: Start,  # noqa: F811
    host_fetch: HostFetch,
) -> None:
    await start_app("web")
    host = f"web--alice.{DOMAIN}"
    paths = ["/", "/a/b?x=1&y=2", "/neuro/api/v1/presets", "/api/terminals", "/lab?token=abc"]
    for path in paths:
        data = seen(await host_fetch(host, path))
        assert data["uri"] == path.replace("?token=abc", ""), path
    data = seen(await host_fetch(f"WEB--alice.{DOMAIN}:8443", "/x", method="POST", body=b"hi"))
    assert (data["method"], data["body_size"]) == ("POST", 2)
    assert data["header"]["x-forwarded-host"] == f"WEB--alice.{DOMAIN}:8443"
    assert "authorization" not in data["header_names"]


async def test_cookies_and_redirects_stay_on_the_jobs_origin(
    start_app: Start,  # noqa: F811
    host_fetch: HostFetch,
) -> None:
    job = await start_app("web")
    host = f"web--alice.{DOMAIN}"
    cookies = (await host_fetch(host, "/set-cookies")).headers.get_list("Set-Cookie")
    assert cookies == ["first=1; Path=/", "second=2; Path=/sub; HttpOnly", "third=3; Path=/"]
    cases = {
        "/login?next=/x": "/login?next=/x",
        f"http://127.0.0.1:{job['port']}/t?a=1": f"http://{host}/t?a=1",
    }
    for to, expected in cases.items():
        response = await host_fetch(host, f"/redirect?to={to.replace('&', '%26')}")
        assert response.code == 302
        assert response.headers["Location"] == expected


async def test_who_gets_in_is_decided_as_on_paths_with_no_sandbox_on_the_host(
    start_app: Start,  # noqa: F811
    host_fetch: HostFetch,
    fetch: Fetch,  # noqa: F811
    api: Api,
) -> None:
    await start_app("private")
    host = f"private--alice.{DOMAIN}"
    assert not sandboxed(await host_fetch(host))
    assert (await host_fetch(host, user="bob")).code == 404
    assert (await host_fetch(f"private--bob.{DOMAIN}")).code == 404
    assert (await host_fetch(f"nosuch--alice.{DOMAIN}")).code == 404
    # Anonymous: 403, never a redirect to a login page that is on another origin.
    html = {"Accept": "text/html"}
    assert (await host_fetch(host, user=None, headers=html)).code == 403
    assert (await api("PUT", "jobs/private/shares/bob", {"level": "read"}))[0] == 200
    as_bob = await host_fetch(host, user="bob")
    assert seen(as_bob)["header"]["x-neuro-user"] == "bob"
    assert not sandboxed(as_bob)
    # The path form still serves it, sandboxed for bob there.
    on_path = await fetch("private--alice/", user="bob")
    assert seen(on_path)["header"]["x-neuro-user"] == "bob"
    assert sandboxed(on_path)


async def test_a_public_job_opens_to_anonymous_visitors_on_its_host(
    start_app: Start,  # noqa: F811
    host_fetch: HostFetch,
) -> None:
    await start_app("open", auth=False)
    data = seen(await host_fetch(f"open--alice.{DOMAIN}", "/p", user=None))
    assert "x-neuro-user" not in data["header_names"]


async def test_websockets_on_the_jobs_host(
    start_app: Start,  # noqa: F811
    jp_http_port: int,
    http_server_client: Any,
) -> None:
    await start_app("web")
    host = f"web--alice.{DOMAIN}"
    request = HTTPRequest(
        f"ws://127.0.0.1:{jp_http_port}/ws",
        headers={"Host": host, "Origin": f"http://{host}", "Authorization": f"token {ALICE_TOKEN}"},
    )
    ws = await websocket_connect(request, subprotocols=["second"])
    assert json.loads(str(await ws.read_message())) == {"protocol": "second"}
    await ws.write_message("echo")
    assert await ws.read_message() == "echo"
    ws.close()


async def test_urls_name_the_host_where_the_template_can(api: Api, jp_base_url: str) -> None:
    spec = {"image": "ubuntu", "command": "env", "name": "envy", "http": {"port": 8080}}
    _, job = await api("POST", "jobs", spec)
    assert job["http_url"] == f"http://envy--alice.{DOMAIN}/"
    job = await job_when(api, "envy", finished)
    _, logs = await api("GET", "jobs/envy/logs", raw=True)
    env = dict(line.split("=", 1) for line in logs.decode().splitlines() if "=" in line)
    assert env["NEURO_JOB_HTTP_URL"] == f"http://envy--alice.{DOMAIN}/"
    assert env["NEURO_JOB_HTTP_PREFIX"] == ""
    # A job with no name has no host under this template: the path form.
    spec = {"image": "ubuntu", "command": [sys.executable, "-c", "0"], "http": {"port": 8080}}
    _, unnamed = await api("POST", "jobs", spec)
    assert unnamed["http_url"].endswith(f"{jp_base_url}neuro/jobs/{unnamed['id']}/")


def test_a_jobs_host_is_routed_before_routes_other_extensions_add_for_every_host() -> None:
    app = web.Application()
    app.add_handlers(".*$", [(r"/lab", web.RequestHandler)])  # an extension loaded earlier
    add_host_routes(app, HostTemplate.parse("{name}--{owner}." + DOMAIN))

    def handler_of(host: str) -> Any:
        start = httputil.RequestStartLine("GET", "/lab", "HTTP/1.1")
        headers = httputil.HTTPHeaders(Host=host)
        request = httputil.HTTPServerRequest(start_line=start, headers=headers)
        return app.find_handler(request).handler_class

    assert handler_of(f"web--alice.{DOMAIN}") is JobHostProxyHandler
    assert handler_of("jupyter.example.com") is web.RequestHandler
