"""The job proxy, black box: a real server, a real job serving HTTP and WebSocket.

The job is ``tests/resources/upstream_app.py``; it echoes what reached it, so
every assertion about what the job saw reads its answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import websocket_connect

from tests.conftest import ALICE_TOKEN, BOB_TOKEN, Api
from tests.server.test_api import job_when
from tests.utils import wait_for

pytestmark = pytest.mark.usefixtures("jp_serverapp")

APP = Path(__file__).parent.parent / "resources" / "upstream_app.py"
TOKENS = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


Start = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def start_app(api: Api) -> Start:
    """Start the upstream app as a job (alice's unless told); the running job."""

    async def start(name: str, *, user: str = "alice", **http: Any) -> dict[str, Any]:
        port = free_port()
        spec = {
            "image": "python",
            "name": name,
            "command": f"{sys.executable} {APP} --port {port}",
            "http": {"port": port, **http},
        }
        status, body = await api("POST", "jobs", spec, user=user)
        assert status == 201, body
        job = await job_when(api, name, lambda j: j["status"] == "running", user=user)
        await wait_for(lambda: port_open(port), timeout=20)
        return dict(job, port=port)

    return start


Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def fetch(jp_http_port: int, jp_base_url: str, http_server_client: Any) -> Fetch:
    """A request through the proxy as a user (or anonymous), never following redirects.

    (``http_server_client`` makes pytest-jupyter's server listen.)
    """

    async def call(
        path: str, *, user: str | None = "alice", headers: dict[str, str] | None = None, **kw: Any
    ) -> HTTPResponse:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.setdefault("Authorization", f"token {TOKENS[user]}")
        kw.setdefault("allow_nonstandard_methods", True)
        kw.setdefault("request_timeout", 60)
        request = HTTPRequest(
            f"http://127.0.0.1:{jp_http_port}{jp_base_url}neuro/jobs/{path}",
            headers=all_headers,
            follow_redirects=False,
            **kw,
        )
        client = AsyncHTTPClient(force_instance=True, max_body_size=1 << 40)
        try:
            return await client.fetch(request, raise_error=False)
        finally:
            client.close()

    return call


def seen(response: HTTPResponse) -> dict[str, Any]:
    """What the job received, from its echo."""
    assert response.code == 200, (response.code, response.body[:300])
    data: dict[str, Any] = json.loads(response.body)
    data["header_names"] = {k.lower() for k, _ in data["headers"]}
    data["header"] = {k.lower(): v for k, v in data["headers"]}
    return data


# -- routing, encoding, methods ----------------------------------------------


async def test_paths_and_queries_reach_the_job_byte_for_byte(
    start_app: Start, fetch: Fetch
) -> None:
    await start_app("web")
    for tail in [
        "/",
        "/a/b?x=1&y=2",
        "/a%2Fb/c%23d?q=%20sp%26&q=2",
        "/caf%C3%A9/%E2%82%AC?v=%E2%82%AC",
        "/x{y}|z^?k=`v`",
        "/sp%20ace/",
    ]:
        assert seen(await fetch(f"web--alice{tail}"))["uri"] == tail, tail


async def test_methods_with_bodies_and_statuses(start_app: Start, fetch: Fetch) -> None:
    await start_app("web")
    body = b"hello \xff body" * 1000
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        data = seen(await fetch("web/m", method=method, body=body))
        assert data["method"] == method
        assert data["body_size"] == len(body)
        assert data["body_sha256"] == hashlib.sha256(body).hexdigest()
    response = await fetch("web/status/418")
    assert (response.code, response.reason, response.body) == (418, "Custom Reason", b"status 418")
    response = await fetch("web/status/204")
    assert response.code == 204
    head = await fetch("web/x", method="HEAD")
    assert head.code == 200 and head.headers["Content-Length"] == "12345"
    assert head.headers["X-Upstream"] == "yes"


async def test_a_streamed_upload_of_unknown_length_arrives_whole(
    start_app: Start, fetch: Fetch
) -> None:
    await start_app("web")
    digest = hashlib.sha256()
    piece = bytes(range(256)) * 4096

    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        for _ in range(40):
            digest.update(piece)
            await write(piece)

    data = seen(await fetch("web/up", method="POST", body_producer=producer))
    assert data["body_size"] == 40 * len(piece)
    assert data["body_sha256"] == digest.hexdigest()


async def test_responses_stream_chunk_by_chunk(start_app: Start, fetch: Fetch) -> None:
    await start_app("web")
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    start = loop.time()
    response = await fetch(
        "web/stream?n=4&delay=0.5",
        streaming_callback=lambda chunk: arrivals.append(loop.time() - start),
    )
    assert response.code == 200
    # The job sends a chunk every 0.5 s: the first arrives long before the last
    # (a buffering proxy delivers them all at once).
    assert len(arrivals) >= 2 and arrivals[-1] - arrivals[0] > 0.7, arrivals


async def test_a_big_download_streams_through(start_app: Start, fetch: Fetch) -> None:
    await start_app("web")
    size = 0

    def count(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    response = await fetch("web/big?mb=150", streaming_callback=count)
    assert response.code == 200
    assert size == 150 * 1024 * 1024


async def test_the_job_missing_its_slash_is_redirected(start_app: Start, fetch: Fetch) -> None:
    await start_app("web")
    response = await fetch("web?a=1")
    assert response.code == 302
    assert response.headers["Location"].endswith("/neuro/jobs/web/?a=1")


# -- headers and cookies -------------------------------------------------------


async def test_credentials_are_stripped_and_forwarding_headers_set(
    start_app: Start, fetch: Fetch, jp_base_url: str
) -> None:
    await start_app("web")
    response = await fetch(
        f"web/p?token={ALICE_TOKEN}&keep=1",
        headers={
            "Cookie": "_xsrf=abc; theirs=1; username-127-0-0-1-8888=secret; other=2",
            "X-Forwarded-For": "6.6.6.6",
            "X-Neuro-User": "mallory",
            "X-Forwarded-Context": "/forged",
            "X-ProxyContextPath": "/forged",
            "Connection": "close, X-Drop-Me",
            "X-Drop-Me": "1",
            "X-Custom": "kept",
        },
    )
    text = response.body.decode()
    data = seen(response)
    assert ALICE_TOKEN not in text
    assert "secret" not in text and "_xsrf" not in text
    assert data["uri"] == "/p?keep=1"
    assert data["cookies"] == {"theirs": "1", "other": "2"}
    assert "authorization" not in data["header_names"]
    assert "x-drop-me" not in data["header_names"]
    assert data["header"]["x-custom"] == "kept"
    assert data["header"]["x-forwarded-for"] == "127.0.0.1"
    assert data["header"]["x-neuro-user"] == "alice"
    assert data["header"]["x-forwarded-proto"] == "http"
    assert data["header"]["x-forwarded-prefix"] == f"{jp_base_url}neuro/jobs/web"
    # Apps written for jupyter-server-proxy read the prefix here (issue 11).
    assert data["header"]["x-forwarded-context"] == f"{jp_base_url}neuro/jobs/web"
    assert data["header"]["x-proxycontextpath"] == f"{jp_base_url}neuro/jobs/web"
    assert data["header"]["x-forwarded-host"].startswith("127.0.0.1:")
    # The job's own response headers come back; Jupyter's defaults do not.
    assert response.headers["X-Upstream"] == "yes"
    assert "frame-ancestors" not in response.headers.get("Content-Security-Policy", "")


async def test_set_cookie_is_scoped_to_the_job(
    start_app: Start, fetch: Fetch, jp_base_url: str
) -> None:
    await start_app("web")
    response = await fetch("web/set-cookies")
    prefix = f"{jp_base_url}neuro/jobs/web"
    cookies = response.headers.get_list("Set-Cookie")
    assert cookies == [
        f"first=1; Path={prefix}/",
        f"second=2; Path={prefix}/sub; HttpOnly",
        f"third=3; Path={prefix}/",
    ]


async def test_redirects_are_rewritten_not_followed(
    start_app: Start, fetch: Fetch, jp_base_url: str
) -> None:
    job = await start_app("web")
    prefix = f"{jp_base_url}neuro/jobs/web"
    port = job["port"]
    cases = {
        "/login?next=/x": f"{prefix}/login?next=/x",
        f"http://127.0.0.1:{port}/tree?a=1": "/tree?a=1",
        "relative/page": "relative/page",
        "https://example.com/": "https://example.com/",
        "//evil.example/": "//evil.example/",
    }
    for to, expected in cases.items():
        response = await fetch(f"web/redirect?to={to.replace('&', '%26')}")
        assert response.code == 302
        assert response.headers["Location"].endswith(expected), (to, response.headers)
        if to.startswith("http://127"):
            assert response.headers["Location"].endswith(f"{prefix}/tree?a=1")


# -- who gets in -------------------------------------------------------------------


async def test_the_auth_matrix(start_app: Start, fetch: Fetch, api: Api) -> None:
    await start_app("private")
    job_id = (await api("GET", "jobs/private"))[1]["id"]
    assert (await fetch("private/")).code == 200
    # bob: no share -> 404, by id and by name; the job sees nothing.
    assert (await fetch(f"{job_id}/", user="bob")).code == 404
    assert (await fetch("private--alice/", user="bob")).code == 404
    # anonymous browser GET -> login; anonymous API / POST -> 403
    login = await fetch("private--alice/x?y=1", user=None, headers={"Accept": "text/html"})
    assert login.code == 302
    assert "login?next=" in login.headers["Location"]
    assert (await fetch("private--alice/", user=None)).code == 403
    posted = await fetch("private--alice/", user=None, method="POST", body=b"x")
    assert posted.code == 403
    # shared read -> bob gets in, and carries the sandbox CSP; alice does not
    status, _ = await api("PUT", "jobs/private/shares/bob", {"level": "read"})
    assert status == 200
    as_bob = await fetch("private--alice/", user="bob")
    assert seen(as_bob)["header"]["x-neuro-user"] == "bob"
    csp = as_bob.headers.get_list("Content-Security-Policy")
    assert any(c.startswith("sandbox") and "allow-same-origin" not in c for c in csp)
    as_alice = await fetch("private/")
    assert not any("sandbox" in c for c in as_alice.headers.get_list("Content-Security-Policy"))


async def test_a_job_without_http_auth_is_public(
    start_app: Start, fetch: Fetch, jp_serverapp: Any
) -> None:
    await start_app("public", auth=False)
    settings = jp_serverapp.web_app.settings
    settings["api_last_activity"] = before = datetime(2000, 1, 1, tzinfo=timezone.utc)
    data = seen(await fetch("public--alice/x", user=None))
    assert settings["api_last_activity"] > before  # proxied traffic keeps the server alive
    assert "x-neuro-user" not in data["header_names"]
    assert seen(await fetch("public--alice/x", user="bob"))["header"]["x-neuro-user"] == "bob"
    assert seen(await fetch("public--alice/x", user=None, method="POST", body=b"1"))


async def test_url_confusion_never_reaches_another_host(start_app: Start, fetch: Fetch) -> None:
    await start_app("web")
    for tail in [
        "/@evil.example/",
        "/user:pass@evil.example/x",
        "//evil.example/x",
        "/\\evil.example/x",
        "/%2F%2Fevil.example/x",
        "/http://evil.example/x",
        "/..%2F..%2Fapi",
    ]:
        data = seen(await fetch(f"web{tail}"))
        assert data["uri"] == tail
        assert data["header"]["host"].startswith("127.0.0.1:")
    # A ref that is a host or a port reaches no job.
    for ref in ["evil.example:80", "127.0.0.1:8888", "%40evil.example"]:
        assert (await fetch(f"{ref}/")).code in (400, 404)


async def test_echoed_refs_and_messages_are_escaped(fetch: Fetch) -> None:
    response = await fetch(
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E/", headers={"Accept": "text/html"}, request_timeout=5
    )
    assert response.code in (400, 404)
    assert b"<script>" not in response.body


# -- failures ------------------------------------------------------------------------


async def test_a_job_that_is_not_running_answers_503(
    start_app: Start, fetch: Fetch, api: Api
) -> None:
    await start_app("web")
    await api("DELETE", "jobs/web")
    response = await fetch("web/")
    assert response.code == 503
    assert b"cancelled" in response.body or b"failed" in response.body


async def test_refusals_are_json_for_programs_and_a_page_for_browsers(fetch: Fetch) -> None:
    """The API's ``{"error", "field"}`` unless the visitor asks for HTML (issue 14)."""
    for ref, code, field in [("no-such-job", 404, None), ("Not%20A%20Ref", 400, "ref")]:
        response = await fetch(f"{ref}/", headers={"Accept": "application/json"})
        assert response.code == code
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.body)
        assert body["error"] and body["field"] == field, body
        page = await fetch(f"{ref}/", headers={"Accept": "text/html,*/*"})
        assert page.code == code and page.headers["Content-Type"].startswith("text/html")


async def test_a_job_refusing_connections_answers_502(fetch: Fetch, api: Api) -> None:
    port = free_port()
    spec = {"image": "python", "name": "deaf", "command": "sleep 30", "http": {"port": port}}
    await api("POST", "jobs", spec)
    await job_when(api, "deaf", lambda j: j["status"] == "running")
    response = await fetch("deaf/")
    assert response.code == 502
    await api("DELETE", "jobs/deaf")


async def test_a_hung_job_answers_504(start_app: Start, fetch: Fetch, jp_serverapp: Any) -> None:
    await start_app("web")
    jp_serverapp.web_app.settings["neuro_proxy_timeout"] = 0.5
    response = await fetch("web/hang")
    assert response.code == 504


# -- WebSockets ----------------------------------------------------------------------


@pytest.fixture
def ws_url(jp_http_port: int, jp_base_url: str, http_server_client: Any) -> Callable[[str], str]:
    return lambda path: f"ws://127.0.0.1:{jp_http_port}{jp_base_url}neuro/jobs/{path}"


async def test_websocket_echo_subprotocol_and_close(
    start_app: Start, fetch: Fetch, ws_url: Callable[[str], str]
) -> None:
    await start_app("web")
    request = HTTPRequest(ws_url("web/ws"), headers={"Authorization": f"token {ALICE_TOKEN}"})
    ws = await websocket_connect(
        request, subprotocols=["first", "second"], max_message_size=64 * 1024 * 1024
    )
    assert ws.selected_subprotocol == "second"
    assert json.loads(await ws.read_message()) == {"protocol": "second"}
    for message in ["text", b"\x00\x01binary", "more"]:
        await ws.write_message(message, binary=isinstance(message, bytes))
    assert [await ws.read_message() for _ in range(3)] == ["text", b"\x00\x01binary", "more"]
    big = bytes(range(256)) * (17 * 4096)  # 17 MiB
    await ws.write_message(big, binary=True)
    assert await ws.read_message() == big
    await ws.write_message("close:4001:done here")
    assert await ws.read_message() is None
    assert (ws.close_code, ws.close_reason) == (4001, "done here")
    ws.close()
    # the visitor's close code reaches the job
    ws = await websocket_connect(request)
    await ws.read_message()
    ws.close(4002, "bye")
    await wait_for(lambda: _last_close(fetch), timeout=10)


async def _last_close(fetch: Fetch) -> bool:
    return json.loads((await fetch("web/ws-last-close")).body).get("code") == 4002


async def test_websocket_refusals_come_before_the_handshake(
    start_app: Start, api: Api, ws_url: Callable[[str], str]
) -> None:
    await start_app("web")
    cases = [({"Authorization": f"token {BOB_TOKEN}"}, 404), ({}, 403)]
    for headers, code in cases:
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(HTTPRequest(ws_url("web--alice/ws"), headers=headers))
        assert refused.value.code == code
    port = free_port()
    spec = {"image": "python", "name": "deaf", "command": "sleep 30", "http": {"port": port}}
    await api("POST", "jobs", spec)
    await job_when(api, "deaf", lambda j: j["status"] == "running")
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(
            HTTPRequest(ws_url("deaf/ws"), headers={"Authorization": f"token {ALICE_TOKEN}"})
        )
    assert refused.value.code == 502
