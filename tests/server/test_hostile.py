"""Hostile input against a real server (issue 14): no 500s, no stalls, bounded answers."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from traitlets.config import Config

from neuro_jupyter.jobs.limits import Limits
from tests.conftest import ALICE_TOKEN, Api
from tests.server.test_api import finished, job_when

pytestmark = pytest.mark.usefixtures("jp_serverapp")

LIMITS = Limits()
PAGE_SIZE = 3
PAGE_BYTES = 150_000
KEEPALIVE = 0.2
SWITCH_INTERVAL = 0.002


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.NeuroJobs.max_page_size = PAGE_SIZE
    jp_server_config.NeuroJobs.max_page_bytes = PAGE_BYTES
    jp_server_config.NeuroJobs.stream_keepalive = KEEPALIVE
    jp_server_config.NeuroJobs.thread_switch_interval = SWITCH_INTERVAL
    return jp_server_config


async def no_jobs(api: Api, neuro_dir: Path) -> bool:
    _, listing = await api("GET", "jobs", params={"all": "true"})
    jobs_dir = neuro_dir / "jobs"
    return listing["jobs"] == [] and (not jobs_dir.exists() or not any(jobs_dir.iterdir()))


async def test_a_body_nested_a_thousand_levels_deep_is_400(api: Api, neuro_dir: Path) -> None:
    for body in ("[" * 1000 + "]" * 1000, '{"image": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        status, answer = await api("POST", "jobs", body)
        assert (status, answer["field"]) == (400, "body"), answer
        assert "nested deeper than 16 levels" in answer["error"]
    assert await no_jobs(api, neuro_dir)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"image": "ubuntu", "command": "true", "description": "a\\ud800"}', "description"),
        ('{"image": "ubuntu", "command": "echo \\udfff"}', "command"),
        ('{"image": "ubuntu", "command": "true", "env": {"A": "\\ud800"}}', "env"),
        ('{"image": "ubuntu", "command": "true", "env": {"A\\ud800": "x"}}', "env"),
        ('{"image": "ubuntu", "command": "true", "tags": ["\\ud800"]}', "tags"),
        ('{"image": "ubuntu", "command": "true", "env": {"A": "x\\u0000"}}', "env"),
        ('{"image": "ubuntu", "command": "true", "workdir": "/tmp/\\u0000"}', "workdir"),
    ],
)
async def test_lone_surrogates_and_nuls_anywhere_are_400_and_nothing_is_created(
    api: Api, neuro_dir: Path, body: str, field: str
) -> None:
    status, answer = await api("POST", "jobs", body)
    assert (status, answer["field"]) == (400, field), answer
    assert await no_jobs(api, neuro_dir)


async def test_a_share_level_with_a_lone_surrogate_is_400(api: Api) -> None:
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "sleep 30"})
    status, answer = await api("PUT", f"jobs/{job['id']}/shares/bob", '{"level": "\\ud800"}')
    assert (status, answer["field"]) == (400, "level"), answer
    await api("DELETE", f"jobs/{job['id']}", params={"wait": "false"})


@pytest.mark.parametrize("limit", ["²", "٣", "0", "1" * 5000 + "x"])
async def test_a_limit_that_is_not_an_ascii_number_is_400(api: Api, limit: str) -> None:
    status, answer = await api("GET", "jobs", params={"limit": limit})
    assert (status, answer["field"]) == (400, "limit"), answer


async def test_listing_is_paged_with_a_next_cursor(api: Api) -> None:
    created = []
    for _ in range(PAGE_SIZE * 2 + 1):
        _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "true"})
        created.append(job["id"])
    status, page = await api("GET", "jobs", params={"all": "true", "limit": "1000000"})
    assert status == 200 and len(page["jobs"]) == PAGE_SIZE and page["next"]
    seen: list[str] = []
    params: dict[str, Any] = {"all": "true", "limit": "2"}
    while True:
        status, page = await api("GET", "jobs", params=params)
        assert status == 200, page
        seen += [j["id"] for j in page["jobs"]]
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert seen == created[::-1]  # newest first, each once
    status, answer = await api("GET", "jobs", params={"cursor": "not-a-cursor"})
    assert (status, answer["field"]) == (400, "cursor")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/jsonx"],
)
async def test_a_body_that_is_not_declared_json_is_415(
    api: Api, neuro_dir: Path, content_type: str
) -> None:
    body = json.dumps({"image": "ubuntu", "command": "true"})
    status, answer = await api("POST", "jobs", body, headers={"Content-Type": content_type})
    assert (status, answer["field"]) == (415, "Content-Type"), answer
    assert await no_jobs(api, neuro_dir)
    status, job = await api(
        "POST", "jobs", body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert status == 201, job


async def test_a_body_over_the_size_limit_is_413(api: Api, neuro_dir: Path) -> None:
    body = json.dumps({"image": "ubuntu", "description": "x" * LIMITS.body_size})
    status, answer = await api("POST", "jobs", body)
    assert (status, answer["field"]) == (413, "body"), answer
    assert str(LIMITS.body_size) in answer["error"]
    assert await no_jobs(api, neuro_dir)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"share": [f"user{i}" for i in range(50_000)]}, "share"),
        ({"volumes": [f"storage:v{i}:/mnt/v{i}" for i in range(20_000)]}, "volumes"),
        ({"env": {"BIG": "x" * (10**6 // 2)}}, "env"),
        ({"env": {f"V{i}": "" for i in range(LIMITS.env_entries + 1)}}, "env"),
        ({"tags": [f"t{i}" for i in range(LIMITS.tags + 1)]}, "tags"),
        ({"command": "true " + "x" * LIMITS.command_length}, "command"),
    ],
)
async def test_oversized_requests_are_400_naming_the_limit_and_nothing_is_made(
    api: Api, neuro_dir: Path, extra: dict[str, Any], field: str
) -> None:
    status, answer = await api("POST", "jobs", {"image": "ubuntu", "command": "true", **extra})
    assert (status, answer["field"]) == (400, field), answer
    assert "a server limit" in answer["error"]
    assert await no_jobs(api, neuro_dir)
    storage = neuro_dir / "storage"
    assert not storage.exists() or not any(storage.rglob("v*"))


async def test_a_job_with_the_largest_env_accepted_starts(api: Api) -> None:
    value = "x" * (LIMITS.env_size - len("BIG=\0"))
    command = ["sh", "-c", 'test "${#BIG}" -eq ' + str(len(value))]
    status, job = await api(
        "POST", "jobs", {"image": "ubuntu", "command": command, "env": {"BIG": value}}
    )
    assert status == 201, job
    job = await job_when(api, job["id"], finished)
    assert (job["status"], job["exit_code"]) == ("succeeded", 0), job


async def test_another_users_presets_answer_while_one_sends_maximal_requests(api: Api) -> None:
    """The largest accepted (and refused) requests of each kind, back to back,
    while another user asks for the presets: each of those is answered."""
    largest = {
        "image": "ubuntu",
        "command": "true " + "x" * (LIMITS.command_length - 6),
        "env": {"BIG": "x" * (LIMITS.env_size - len("BIG=\0"))},
        "share": [f"user{i}" for i in range(LIMITS.shares)],
        "tags": [f"t{i}" for i in range(LIMITS.tags)],
        "description": "x" * 4096,
    }
    refused = {"image": "ubuntu", "command": "true", "share": ["u"] * 100_000}
    stop = asyncio.Event()

    async def hostile() -> None:
        while not stop.is_set():
            for body, expected in ((largest, 201), (refused, 400)):
                assert (await api("POST", "jobs", body, user="bob"))[0] == expected
            status, _ = await api("GET", "jobs", user="bob", params={"all": "true"})
            assert status == 200

    task = asyncio.ensure_future(hostile())
    try:
        for _ in range(20):
            status, body = await asyncio.wait_for(api("GET", "presets"), 30)
            assert status == 200 and body["presets"]
    finally:
        stop.set()
        await task


async def raw_get(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = "Host: 127.0.0.1\r\nAuthorization: token alice-secret-token"
    writer.write(f"GET {path} HTTP/1.1\r\n{auth}\r\n\r\n".encode())
    return reader, writer


async def test_top_sends_its_headers_at_once_and_pings_while_idle(
    api: Api, jp_base_url: str, jp_http_port: int
) -> None:
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "sleep 30"})
    await job_when(api, job["id"], lambda j: j["status"] == "running")
    path = f"{jp_base_url}neuro/api/v1/jobs/{job['id']}/top?interval=60"
    reader, writer = await raw_get(jp_http_port, path)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    # Nothing else for 60 s but pings (every 0.2 s here).
    data = b""
    while data.count(b": ping\n\n") < 2:
        data += await asyncio.wait_for(reader.read(4096), 10)
    writer.close()
    await api("DELETE", f"jobs/{job['id']}", params={"wait": "false"})


async def test_a_followed_log_as_events_pings_while_the_job_is_silent_bytes_intact(
    api: Api, jp_base_url: str, jp_http_port: int
) -> None:
    written = b"one\rtwo \xff\n"  # a carriage return and a byte that is not UTF-8
    command = ["sh", "-c", r"printf 'one\rtwo \377\n'; exec sleep 60"]
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": command})
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}neuro/api/v1/jobs/{job['id']}/logs"
    headers = {"Authorization": f"token {ALICE_TOKEN}", "Accept": "text/event-stream"}
    logged, pings_after, events = b"", 0, []
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as client,
        client.stream("GET", url, params={"follow": "true"}, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith("data: ") and events[-1] == "log":
                logged += base64.b64decode(line.removeprefix("data: "))
            elif line.startswith("event: "):
                events.append(line.removeprefix("event: "))
            elif line == ": ping" and logged == written:
                pings_after += 1  # the job is silent now: nothing but pings (every 0.2 s)
                if pings_after == 2:
                    break
        assert (logged, pings_after) == (written, 2)
        await api("DELETE", f"jobs/{job['id']}", params={"wait": "false"})
        rest = [line async for line in lines]
    assert set(events) == {"log"}
    assert "event: end" in rest and not any(line.startswith("event: log") for line in rest)


async def test_a_followed_log_is_text_unless_events_are_asked_for(api: Api) -> None:
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": ["printf", "a\\rb"]})
    await job_when(api, job["id"], finished)
    for accept in ("text/plain", "*/*", "text/html, text/event-streams"):
        status, body = await api(
            "GET",
            f"jobs/{job['id']}/logs",
            params={"follow": "true"},
            headers={"Accept": accept},
            raw=True,
        )
        assert (status, body) == (200, b"a\rb"), accept


def test_the_server_hands_the_gil_over_at_the_configured_interval() -> None:
    # The event loop waits at most this long for a worker thread's GIL.
    assert sys.getswitchinterval() == SWITCH_INTERVAL


async def test_the_served_openapi_document_is_this_servers(api: Api, jp_base_url: str) -> None:
    status, document = await api("GET", "openapi.json")
    assert status == 200
    assert document["servers"] == [{"url": f"{jp_base_url}neuro/api/v1"}]
    spec = document["components"]["schemas"]["JobSpec"]
    assert spec["required"] == ["image", "command"]  # the local backend runs a command
    assert spec["properties"]["preset"]["enum"] == ["cpu-small", "cpu-large", "mem-tiny", None]
    ref = document["components"]["parameters"]["Ref"]["schema"]["pattern"]
    for good in ("job-0b1e3f6a-7a2c-4b55-9d3e-2f1c0a9b8c7d", "my-job", "my-job--bob", "job:my-job"):
        assert re.fullmatch(ref, good), good
    for bad in ("My Job", "a/b", "job-", "-x"):
        assert not re.fullmatch(ref, bad), bad
    exec_params = {p["name"] for p in document["paths"]["/jobs/{ref}/exec"]["get"]["parameters"]}
    assert {"cmd", "command", "tty"} <= exec_params
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "delete") and path not in (
                "/presets",
                "/spec",
                "/openapi.json",
            ):
                assert "400" in operation["responses"], (method, path)


async def test_a_page_of_large_jobs_ends_at_the_byte_limit(api: Api) -> None:
    big = {"BIG": "x" * (LIMITS.env_size - len("BIG=\0"))}
    created = []
    for _ in range(3):
        _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "true", "env": big})
        created.append(job["id"])
    status, page = await api("GET", "jobs", params={"all": "true"})
    assert status == 200 and len(page["jobs"]) == 2 and page["next"]  # 2 x 64 KiB < 150 KB
    status, rest = await api("GET", "jobs", params={"all": "true", "cursor": page["next"]})
    assert [j["id"] for j in page["jobs"] + rest["jobs"]] == created[::-1]
    assert rest["next"] is None
