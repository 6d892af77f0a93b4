"""JupyterLab run *as a job*, used through the proxy: its page, its REST API, a kernel.

End to end, black box: pytest-jupyter's server (with the extension) starts
``jupyter lab`` as a local job with ``"http": {"keep_prefix": true}`` and the
lab's ``base_url`` set from ``$NEURO_JOB_HTTP_PREFIX``; the test then talks to
the lab only through ``{base_url}neuro/jobs/lab--alice/``, as alice, with the
outer server's token, the way a browser would with its login cookie.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.conftest import ALICE_TOKEN, Api
from tests.server.test_api import job_when
from tests.server.test_proxy import (  # noqa: F401  (fixtures)
    Fetch,
    Start,
    fetch,
    free_port,
    port_open,
    start_app,
    ws_url,
)
from tests.utils import wait_for

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
async def lab(api: Api, jp_base_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """``jupyter lab`` as alice's job named ``lab``; its prefix. Deleted afterwards.

    Our proxy strips the visitor's ``Authorization``, ``token=`` and login
    cookies (``username-*``) and drops every ``_xsrf`` cookie (DESIGN.md §4):
    neither a token of the lab's own nor the XSRF cookie the lab sets could
    reach it through the proxy, and a tokenless Jupyter still demands that
    cookie on POST. So the lab runs with no token and no XSRF check, and the
    proxy's login (``"auth": true``) is its only door; it listens on 127.0.0.1.
    """
    port = free_port()
    prefix = f"{jp_base_url}neuro/jobs/lab--alice/"
    argv = [
        sys.executable, "-m", "jupyterlab",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        "--no-browser", "--allow-root",
        "--IdentityProvider.token=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={tmp_path}",
        # The lab needs none of this project's extension (nor its job registry).
        "--ServerApp.jpserver_extensions=neuro_jupyter=False",
    ]  # fmt: skip
    base_url = '--ServerApp.base_url="$NEURO_JOB_HTTP_PREFIX/"'
    spec = {
        "image": "python",
        "name": "lab",
        "preset": "cpu-large",
        # The job is told its prefix; the lab serves under it.
        "command": ["sh", "-c", f"{shlex.join(argv)} {base_url}"],
        "http": {"port": port, "auth": True, "keep_prefix": True},
    }
    status, body = await api("POST", "jobs", spec)
    assert status == 201, body
    await job_when(api, "lab", lambda j: j["status"] == "running")
    try:
        await wait_for(lambda: _listening_or_ended(api, port), timeout=60)
        yield prefix
    finally:
        await api("DELETE", "jobs/lab")
        await job_when(api, "lab", lambda j: j["status"] not in ("pending", "running"))


async def _listening_or_ended(api: Api, port: int) -> bool:
    if await port_open(port):
        return True
    _, job = await api("GET", "jobs/lab")
    if job["status"] != "running":
        raise AssertionError(f"the lab ended: {job['status']}\n{await lab_log(api)}")
    return False


async def lab_log(api: Api) -> str:
    """The lab's output (its log), for failure messages."""
    _, logs = await api("GET", "jobs/lab/logs", raw=True)
    return str(logs.decode(errors="replace"))


def execute_request(code: str, session: str) -> dict[str, Any]:
    """A Jupyter messaging protocol 5.3 ``execute_request`` for the shell channel."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": "alice",
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


async def replies_to(ws: WebSocketClientConnection, msg_id: str) -> list[dict[str, Any]]:
    """The kernel's messages in reply to ``msg_id``, up to its ``idle`` status."""
    replies = []
    while True:
        raw = await ws.read_message()
        assert raw is not None, (ws.close_code, ws.close_reason)
        message = json.loads(raw)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        replies.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return replies


async def test_a_notebook_kernel_is_used_through_the_proxy_over_its_websocket(
    lab: str,
    fetch: Fetch,  # noqa: F811
    ws_url: Callable[[str], str],  # noqa: F811
    jp_http_port: int,
) -> None:
    """The lab's page loads with the job's prefix as its base URL; a kernel is
    created through the lab's REST API; ``1+1`` sent on the kernel's channels
    WebSocket (opened like a browser, with our page's ``Origin``) comes back as
    ``execute_result`` ``2``; the kernel is deleted."""
    page = await fetch("lab--alice/lab", headers={"Accept": "text/html"})
    assert page.code == 200, page.body[:500]
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"jupyter-config-data" in page.body
    config = page.body.split(b'id="jupyter-config-data"', 1)[1]
    config = config.split(b">", 1)[1].split(b"</script>", 1)[0]
    assert json.loads(config)["baseUrl"] == lab

    # A script's POST, without ``Origin``; a browser's is the next test's.
    python3 = json.dumps({"name": "python3"})
    created = await fetch("lab--alice/api/kernels", method="POST", body=python3)
    assert created.code == 201, created.body
    kernel = json.loads(created.body)["id"]

    session = uuid.uuid4().hex
    request = HTTPRequest(
        ws_url(f"lab--alice/api/kernels/{kernel}/channels?session_id={session}"),
        headers={
            "Authorization": f"token {ALICE_TOKEN}",
            "Origin": f"http://127.0.0.1:{jp_http_port}",  # as every browser sends it
        },
    )
    ws = await websocket_connect(request)
    try:
        message = execute_request("1+1", session)
        await ws.write_message(json.dumps(message))
        replies = await asyncio.wait_for(replies_to(ws, message["header"]["msg_id"]), 60)
    finally:
        ws.close()
    results = [r["content"] for r in replies if r["msg_type"] == "execute_result"]
    assert [r["data"]["text/plain"] for r in results] == ["2"], replies

    deleted = await fetch(f"lab--alice/api/kernels/{kernel}", method="DELETE")
    assert deleted.code == 204
    listed = await fetch("lab--alice/api/kernels")
    assert json.loads(listed.body) == []


async def test_other_refs_of_a_keep_prefix_job_lead_to_its_own_prefix(
    lab: str,
    fetch: Fetch,  # noqa: F811
    api: Api,
) -> None:
    """The lab serves under the one prefix it was told; a visitor who came by
    the bare name or the id is redirected there, path and query kept, and a
    POST by another ref still reaches the lab under its own prefix."""
    _, job = await api("GET", "jobs/lab")
    for ref in ("lab", job["id"]):
        moved = await fetch(f"{ref}/api/contents?type=directory")
        assert moved.code == 302, moved.body
        assert moved.headers["Location"] == f"{lab}api/contents?type=directory"
    created = await fetch(f"{job['id']}/api/kernels", method="POST", body=json.dumps({}))
    assert created.code == 201, created.body
    kernel = json.loads(created.body)["id"]
    assert (await fetch(f"lab--alice/api/kernels/{kernel}", method="DELETE")).code == 204


async def test_a_browser_api_request_passes_the_jobs_own_origin_check(
    lab: str,
    fetch: Fetch,  # noqa: F811
    api: Api,
    jp_http_port: int,
) -> None:
    """Browsers send ``Origin`` with every POST, PUT and DELETE, same-origin
    ones too. The lab compares it with ``Host``, which the proxy sets to the
    job's own address, so a same-origin request must reach the job with the
    job's origin (as WebSockets do), or every such call of the lab's page fails
    (jupyter_server's ``APIHandler.prepare`` answers 404)."""
    browser = {"Origin": f"http://127.0.0.1:{jp_http_port}"}
    saved = await fetch(
        "lab--alice/api/contents/note.txt",
        method="PUT",
        headers=browser,
        body=json.dumps({"type": "file", "format": "text", "content": "through the proxy"}),
    )
    assert saved.code == 201, (saved.body, await lab_log(api))
    read = await fetch("lab--alice/api/contents/note.txt")
    assert json.loads(read.body)["content"] == "through the proxy"
    deleted = await fetch("lab--alice/api/contents/note.txt", method="DELETE", headers=browser)
    assert deleted.code == 204, (deleted.body, await lab_log(api))


async def test_a_browser_websocket_passes_the_jobs_own_origin_check(
    start_app: Start,  # noqa: F811
    ws_url: Callable[[str], str],  # noqa: F811
    jp_http_port: int,
) -> None:
    """A same-origin WebSocket (a browser's, with our page's ``Origin``) is
    accepted by a job that checks ``Origin`` against its ``Host``, as tornado's
    and Jupyter's WebSocket handlers do. A foreign ``Origin`` is refused before
    the handshake, by Jupyter's rule (which trusts token-authenticated requests,
    so it is shown with an anonymous visitor of a public job)."""
    ours = f"http://127.0.0.1:{jp_http_port}"
    await start_app("web")
    await start_app("open", auth=False)
    cases = [
        ("web/ws", {"Authorization": f"token {ALICE_TOKEN}", "Origin": ours}),
        ("open--alice/ws", {"Origin": ours}),
    ]
    for path, headers in cases:
        ws = await websocket_connect(HTTPRequest(ws_url(path), headers=headers))
        assert json.loads(await ws.read_message()) == {"protocol": None}
        await ws.write_message("same origin")
        assert await ws.read_message() == "same origin"
        ws.close()
    foreign = HTTPRequest(ws_url("open--alice/ws"), headers={"Origin": "http://evil.example"})
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(foreign)
    assert refused.value.code == 403
