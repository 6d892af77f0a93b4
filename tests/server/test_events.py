"""``GET events``: every job change as server-sent events (issue 12).

Order, resume with ``Last-Event-ID``, filters, what each user may see, a slow
reader not holding up others, and a clean end when the server stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import ALICE_TOKEN, BOB_TOKEN, Api
from tests.real_server import TOKEN, RealServer
from tests.server.test_api import finished, job_when
from tests.sse import Event, EventStream, open_events

pytestmark = pytest.mark.usefixtures("jp_serverapp")

SLEEP = {"image": "ubuntu", "command": "sleep 30"}
Opener = Callable[..., Awaitable[EventStream]]


@pytest.fixture
async def events(jp_http_port: int, jp_base_url: str) -> AsyncIterator[Opener]:
    """Open ``GET events`` streams as alice (or bob); all closed at the end."""
    opened: list[EventStream] = []

    async def open_stream(
        query: str = "", user: str = "alice", last_event_id: str | None = None, **kw: int
    ) -> EventStream:
        token = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}[user]
        url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}neuro/api/v1/events?{query}"
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        stream = await open_events(url, token, headers, **kw)
        opened.append(stream)
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


async def jobs_until(stream: EventStream, done: Callable[[Event], bool]) -> list[Event]:
    """The job events up to and including the first that is ``done``."""
    seen = []
    while True:
        event = await stream.next_of("job")
        seen.append(event)
        if done(event):
            return seen


def is_finished(event: Event) -> bool:
    return bool(event.json["status"] in ("succeeded", "failed", "cancelled"))


async def test_changes_arrive_in_order_with_increasing_ids(api: Api, events: Opener) -> None:
    stream = await events()
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "true", "name": "quick"})
    seen = await jobs_until(stream, is_finished)
    assert {e.json["id"] for e in seen} == {job["id"]}
    # One event per history item, in order, each the job as GET jobs/{ref} shows it.
    _, stored = await api("GET", f"jobs/{job['id']}")
    assert [e.json["status"] for e in seen] == [h["status"] for h in stored["history"]]
    assert [e.json["status"] for e in seen][:: len(seen) - 1] == ["pending", "succeeded"]
    assert "running" in [e.json["status"] for e in seen]
    assert seen[-1].json["history"] == stored["history"]
    epochs = {e.id.partition("-")[0] for e in seen if e.id}
    seqs = [int(e.id.partition("-")[2]) for e in seen if e.id]
    assert len(epochs) == 1 and seqs == sorted(seqs) and len(set(seqs)) == len(seen)


async def test_last_event_id_resumes_after_that_change(api: Api, events: Opener) -> None:
    stream = await events()
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "true"})
    seen = await jobs_until(stream, is_finished)
    stream.close()
    _, bumped = await api("POST", "jobs", SLEEP)  # changes while no one listens
    await job_when(api, bumped["id"], lambda j: j["status"] == "running")
    status, _ = await api("POST", f"jobs/{bumped['id']}/life-span", {"add": "1h"})
    assert status == 200

    # Resumed after the first change: the rest, each once, in order; follow=false ends it.
    resumed = await events("follow=false", last_event_id=seen[0].id)
    rest = await resumed.rest()
    assert rest[-1].event == "end"
    changes = [(e.json["id"], e.json["status"]) for e in rest if e.event == "job"]
    first = [(job["id"], e.json["status"]) for e in seen[1:]]
    assert changes[: len(first)] == first
    later = changes[len(first) :]
    assert {i for i, _ in later} == {bumped["id"]}
    assert next(s for _, s in later) == "pending"
    assert [s for _, s in later][-2:] == ["running", "running"]  # the life span bump last
    assert [e for e in rest if e.event == "job"][-1].json["life_span"] == 86400 + 3600
    await api("DELETE", f"jobs/{bumped['id']}")


@pytest.mark.parametrize("last", ["00000000-1", "nonsense", f"{'9' * 30}"])
async def test_a_position_the_server_does_not_hold_says_reset(
    api: Api, events: Opener, last: str
) -> None:
    # Another server run's id, garbage, or a number never given: list again.
    stream = await events("follow=false", last_event_id=last)
    assert [e.event for e in await stream.rest()] == ["reset", "end"]


async def test_filters_are_those_of_get_jobs(api: Api, events: Opener) -> None:
    tagged = await events("tag=team:a")
    named = await events("name=wanted&q=ECHO")
    running = await events("status=running")
    await api("POST", "jobs", {"image": "ubuntu", "command": "true", "name": "other"})
    _, a = await api(
        "POST",
        "jobs",
        {"image": "ubuntu", "command": "echo hi", "name": "wanted", "tags": ["team:a"]},
    )
    await job_when(api, a["id"], finished)
    await job_when(api, "other", finished)
    last = await jobs_until(tagged, is_finished)
    assert {e.json["name"] for e in last} == {"wanted"}
    last = await jobs_until(named, is_finished)
    assert {e.json["name"] for e in last} == {"wanted"}
    # Into and out of running: the reader learns that its running job ended.
    first = await running.next_of("job")
    second = await running.next_of("job")
    assert first.json["status"] == "running"
    assert second.json["status"] == "succeeded" and second.json["id"] == first.json["id"]
    status, body = await api("GET", "events", params={"limit": "5"})
    assert (status, body["field"]) == (400, "limit")
    status, body = await api("GET", "events", params={"status": "bogus"})
    assert (status, body["field"]) == (400, "status")


async def test_a_stream_carries_only_jobs_the_reader_may_see(api: Api, events: Opener) -> None:
    bobs = await events(user="bob")
    _, hidden = await api("POST", "jobs", {**SLEEP, "name": "hidden"})
    await job_when(api, hidden["id"], lambda j: j["status"] == "running")
    _, own = await api("POST", "jobs", {"image": "ubuntu", "command": "true"}, user="bob")
    first = await bobs.next_of("job")
    assert first.json["id"] == own["id"]  # alice's job's changes were not sent
    status, _ = await api("PUT", "jobs/hidden/shares/bob", {"level": "read"})
    assert status == 200
    while (event := await bobs.next_of("job")).json["id"] == own["id"]:
        pass
    assert (event.json["id"], event.json["owner"]) == (hidden["id"], "alice")
    await api("DELETE", "jobs/hidden")


async def test_a_reader_that_does_not_read_holds_up_no_one(api: Api, events: Opener) -> None:
    # A reader with a tiny receive buffer that never reads: the server's
    # writes to it stall, while another reader gets every change.
    await events(rcvbuf=1024)
    fast = await events()
    _, job = await api("POST", "jobs", {**SLEEP, "description": "x" * 4000})
    await job_when(api, job["id"], lambda j: j["status"] == "running")
    for _ in range(150):  # ~1 MB of events
        status, _ = await api("POST", f"jobs/{job['id']}/life-span", {"add": "1m"})
        assert status == 200
    seen = await jobs_until(fast, lambda e: e.json["life_span"] == 86400 + 150 * 60)
    _, stored = await api("GET", f"jobs/{job['id']}")
    assert len(seen) == len(stored["history"]) + 150  # each status, each bump
    await api("DELETE", f"jobs/{job['id']}")


async def test_a_stream_ends_cleanly_when_the_server_stops(tmp_path: Path) -> None:
    server = RealServer(tmp_path)
    await asyncio.to_thread(server.start)
    try:
        stream = await open_events(f"{server.api}events", TOKEN)
        assert stream.status == 200
        job = await asyncio.to_thread(
            server.request, "POST", "jobs", {"image": "ubuntu", "command": "true"}
        )
        first = await stream.next_of("job")
        assert first.json["id"] == job["id"]
        await asyncio.to_thread(server.stop)
        rest = await stream.rest()
        assert rest and rest[-1].event == "end"
        stream.close()
    finally:
        await asyncio.to_thread(server.stop)
