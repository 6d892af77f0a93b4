"""``jobs/{ref}/exec`` over a real WebSocket into a real running job."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from tests.conftest import BOB_TOKEN, Api
from tests.server.test_api import job_when

pytestmark = pytest.mark.usefixtures("jp_serverapp")


async def drain(ws: WebSocketClientConnection) -> tuple[bytes, dict[str, Any]]:
    """Everything the command printed, and the closing control message."""
    output = b""
    while True:
        message = await ws.read_message()
        assert message is not None, "socket closed before the exit code"
        if isinstance(message, bytes):
            output += message
        else:
            return output, json.loads(message)


async def running_job(api: Api, name: str) -> dict[str, Any]:
    spec = {"image": "ubuntu", "command": "sleep 30", "name": name, "env": {"GREETING": "hi"}}
    await api("POST", "jobs", spec)
    return dict(await job_when(api, name, lambda j: j["status"] == "running"))


async def test_exec_runs_in_the_jobs_environment_and_returns_its_exit_code(
    api: Api, jp_ws_fetch: Any
) -> None:
    job = await running_job(api, "target")
    ws = await jp_ws_fetch(
        "neuro", "api", "v1", "jobs", "target", "exec",
        params={"command": "sh -c 'echo $GREETING $NEURO_JOB_ID; exit 4'"},
    )  # fmt: skip
    output, end = await drain(ws)
    assert output == f"hi {job['id']}\n".encode()
    assert end == {"exit_code": 4}
    ws.close()
    await api("DELETE", "jobs/target")


async def test_exec_passes_stdin_and_a_tty(api: Api, jp_ws_fetch: Any) -> None:
    await running_job(api, "interactive")
    ws = await jp_ws_fetch(
        "neuro", "api", "v1", "jobs", "interactive", "exec",
        params={"command": "sh -c 'test -t 0 && echo tty; read line; echo got $line'", "tty": "1"},
    )  # fmt: skip
    await ws.write_message(b"hello\n", binary=True)
    output, end = await drain(ws)
    assert b"tty" in output and b"got hello" in output
    assert end == {"exit_code": 0}
    ws.close()
    await api("DELETE", "jobs/interactive")


async def test_exec_is_refused_before_the_handshake(api: Api, jp_ws_fetch: Any) -> None:
    await running_job(api, "guarded")
    cases = [
        ({"command": "true"}, {"Authorization": f"token {BOB_TOKEN}"}, 404),
        ({"command": "true"}, {"Authorization": "token wrong"}, 403),
        ({}, {}, 400),
    ]
    for params, headers, code in cases:
        with pytest.raises(HTTPClientError) as refused:
            await jp_ws_fetch(
                "neuro", "api", "v1", "jobs", "guarded", "exec", params=params, headers=headers
            )
        assert refused.value.code == code
    await api("DELETE", "jobs/guarded")
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch(
            "neuro", "api", "v1", "jobs", "guarded", "exec", params={"command": "true"}
        )
    assert refused.value.code == 409


async def test_exec_answers_every_refusal_as_json(
    api: Api, jp_fetch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """403/405/400/426 before the handshake are ``{"error", "field"}``, not Jupyter's
    HTML page, and nothing reaches ``write_error`` as an uncaught error (issue 14)."""
    await running_job(api, "plain")
    ws_headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    cases: list[tuple[str, dict[str, str], int, str | None]] = [
        ("GET", {"Authorization": ""}, 403, None),
        ("GET", {"Authorization": "token wrong"}, 403, None),
        ("POST", {}, 405, None),
        ("GET", {}, 400, "Upgrade"),
        ("GET", {"Upgrade": "websocket"}, 400, "Connection"),
        ("GET", {**ws_headers, "Sec-WebSocket-Version": "99"}, 426, "Sec-WebSocket-Version"),
        ("GET", ws_headers, 400, "Sec-WebSocket-Key"),
    ]
    for method, headers, code, field in cases:
        response = await jp_fetch(
            "neuro", "api", "v1", "jobs", "plain", "exec",
            method=method, headers=headers, params={"command": "true"},
            body=b"" if method == "POST" else None, raise_error=False,
        )  # fmt: skip
        assert response.code == code, (method, headers, response.body)
        assert response.headers["Content-Type"].startswith("application/json")
        body = json.loads(response.body)
        assert body["error"] and body["field"] == field, body
    assert "Uncaught exception" not in caplog.text
    await api("DELETE", "jobs/plain")
