"""neuro_jupyter.client against a real jupyter server running real jobs.

The server runs on the test's event loop, so the sync client is called from a
thread (``asyncio.to_thread``); the async client is awaited directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from traitlets.config import Config

import neuro_jupyter.client as client_module
from neuro_jupyter.client import (
    ApiConfig,
    AsyncNeuroClient,
    Conflict,
    Forbidden,
    InvalidSpec,
    Job,
    NeuroClient,
    NotFound,
)
from neuro_jupyter.jobs.model import Preset
from tests.conftest import ALICE_TOKEN, BOB_TOKEN

# ``http_server`` makes the server accept on ``jp_http_port`` (jp_fetch would too).
pytestmark = pytest.mark.usefixtures("jp_serverapp", "http_server")

T = TypeVar("T")
SLEEP = {"image": "ubuntu", "command": "sleep 30"}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    # Small pages, so every listing here goes through the clients' paging.
    jp_server_config.NeuroJobs.max_page_size = 2
    return jp_server_config


@pytest.fixture
def alice_config(jp_http_port: int, jp_base_url: str) -> ApiConfig:
    return ApiConfig(f"http://127.0.0.1:{jp_http_port}{jp_base_url}neuro/api/v1/", ALICE_TOKEN)


@pytest.fixture
async def alice(alice_config: ApiConfig) -> AsyncIterator[AsyncNeuroClient]:
    async with AsyncNeuroClient(alice_config, timeout=20) as client:
        yield client


@pytest.fixture
async def bob(alice_config: ApiConfig) -> AsyncIterator[AsyncNeuroClient]:
    async with AsyncNeuroClient(ApiConfig(alice_config.url, BOB_TOKEN), timeout=20) as client:
        yield client


@pytest.fixture
async def alice_sync(alice_config: ApiConfig) -> AsyncIterator[NeuroClient]:
    client = NeuroClient(alice_config, timeout=20)
    yield client
    await asyncio.to_thread(client.close)


def finished(job: Job) -> bool:
    return job.is_finished


def running(job: Job) -> bool:
    return job.status == "running"


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


def test_the_public_names_are_pinned() -> None:
    assert set(client_module.__all__) == {
        "ApiConfig", "ApiError", "AsyncExecSession", "AsyncNeuroClient", "ClientConfigError",
        "Conflict", "ExecSession", "Forbidden", "HistoryItem", "InvalidSpec", "Job",
        "NeuroClient", "NeuroError", "NotFound", "Sample", "parse_time",
    }  # fmt: skip
    for name in client_module.__all__:
        assert getattr(client_module, name).__doc__


async def test_presets_and_spec_fields(alice: AsyncNeuroClient, alice_sync: NeuroClient) -> None:
    presets, default = await alice.presets()
    assert default == "cpu-small"
    assert [p.name for p in presets] == ["cpu-small", "cpu-large", "mem-tiny"]
    assert presets[0] == Preset("cpu-small", 1.0, 512 * 1000**2)
    assert await in_thread(alice_sync.presets) == (presets, default)
    fields = await alice.spec_fields()
    assert "image" in {f["name"] for f in fields}


async def test_run_parses_the_record_and_logs_come_as_written(
    alice: AsyncNeuroClient, alice_sync: NeuroClient
) -> None:
    script = "printf 'a\\rb\\rc\\n'; sleep 1; printf 'done\\n'"
    job = await alice.run(
        {"image": "ubuntu", "command": ["sh", "-c", script], "tags": ["t:1"], "preset": "mem-tiny"}
    )
    assert job.id.startswith("job-") and job.owner == "alice" and job.tags == ("t:1",)
    assert job.created_at.tzinfo is not None and not job.is_finished
    assert job.resources.name == "mem-tiny" and job.resources.memory == 64 * 1000**2
    assert job.raw["id"] == job.id

    followed = b"".join([chunk async for chunk in alice.logs(job.id, follow=True)])
    assert followed == b"a\rb\rc\ndone\n"

    done = await alice.wait_for(job.id, finished, poll=0.05, timeout=20)
    assert (done.status, done.exit_code) == ("succeeded", 0)
    assert done.finished_at is not None and done.finished_at.tzinfo == timezone.utc
    assert [h.status for h in done.history][-1] == "succeeded"
    assert done.history[0].at <= done.history[-1].at

    def sync_logs() -> bytes:
        return b"".join(alice_sync.logs(job.id))

    assert await in_thread(sync_logs) == b"a\rb\rc\ndone\n"


async def test_sync_logs_follow_until_the_server_ends_the_stream(
    alice_sync: NeuroClient,
) -> None:
    def follow() -> tuple[list[bytes], Job]:
        # Followed logs travel as events (issue 14): a byte that is not UTF-8 survives.
        script = ["sh", "-c", r"printf '1\377\n'; sleep 1; echo 2"]
        job = alice_sync.run({"image": "ubuntu", "command": script})
        chunks = list(alice_sync.logs(job.id, follow=True))
        return chunks, alice_sync.wait_for(job.id, finished, poll=0.05, timeout=20)

    chunks, job = await in_thread(follow)
    assert b"".join(chunks) == b"1\xff\n2\n"
    assert job.status == "succeeded"


async def test_jobs_filters(alice: AsyncNeuroClient) -> None:
    await alice.run({**SLEEP, "tags": ["kind:x"], "name": "tagged"})
    plain = await alice.run({"image": "ubuntu", "command": "true", "name": "plain"})
    await alice.wait_for(plain.id, finished, poll=0.05, timeout=20)
    await alice.wait_for("tagged", running, poll=0.05, timeout=20)
    assert [j.name for j in await alice.jobs()] == ["tagged"]
    assert [j.name for j in await alice.jobs(all=True)] == ["plain", "tagged"]
    assert [j.name for j in await alice.jobs(status=["running"], tag=["kind:x"])] == ["tagged"]
    assert [j.name for j in await alice.jobs(all=True, q="PLAI")] == ["plain"]
    assert [j.name for j in await alice.jobs(status="succeeded")] == ["plain"]
    assert len(await alice.jobs(all=True, limit=1)) == 1
    await alice.kill("tagged")


async def test_jobs_reads_every_page(alice: AsyncNeuroClient, alice_sync: NeuroClient) -> None:
    """The server answers 2 jobs a page here; the clients follow ``next``."""
    ids = [(await alice.run({"image": "ubuntu", "command": "true"})).id for _ in range(5)]
    newest_first = ids[::-1]
    assert [j.id for j in await alice.jobs(all=True)] == newest_first
    assert [j.id for j in await alice.jobs(all=True, limit=3)] == newest_first[:3]
    listed = await asyncio.to_thread(alice_sync.jobs, all=True)
    assert [j.id for j in listed] == newest_first


async def test_kill_rerun_and_bump(alice: AsyncNeuroClient, alice_sync: NeuroClient) -> None:
    job = await alice.run({**SLEEP, "name": "sleeper", "life_span": "1h"})
    await alice.wait_for(job.id, running, poll=0.05, timeout=20)
    bumped = await alice.bump_life_span("sleeper", "2h")
    assert (job.life_span, bumped.life_span) == (3600, 3 * 3600)
    killed = await in_thread(alice_sync.kill, "sleeper")
    assert (killed.status, killed.reason) == ("cancelled", "UserRequested")
    again = await alice.rerun("sleeper")
    assert again.id != job.id and again.name == "sleeper" and again.command == "sleep 30"
    assert (await alice.job("sleeper")).id == again.id
    killed = await alice.kill(again.id, wait=False)
    assert killed.id == again.id
    await alice.wait_for(again.id, finished, poll=0.05, timeout=20)


async def test_shares_let_bob_see_but_not_kill(
    alice: AsyncNeuroClient, bob: AsyncNeuroClient
) -> None:
    job = await alice.run({**SLEEP, "name": "shown"})
    with pytest.raises(NotFound):
        await bob.job("shown--alice")
    share = await alice.share("shown", "bob", "read")
    assert share == {"owner": "alice", "target": "shown", "user": "bob", "level": "read"}
    assert await alice.shares("shown") == [share]
    assert (await bob.job("shown--alice")).id == job.id
    with pytest.raises(Forbidden, match="write"):
        await bob.kill("shown--alice")
    await alice.unshare("shown", "bob")
    with pytest.raises(NotFound):
        await bob.job(job.id)
    await alice.kill("shown")


async def test_top_yields_samples_until_the_job_ends(alice: AsyncNeuroClient) -> None:
    job = await alice.run({"image": "ubuntu", "command": "sleep 1.5"})
    await alice.wait_for(job.id, running, poll=0.05, timeout=20)
    samples = [s async for s in alice.top(job.id, interval=0.2)]
    assert samples
    assert all(s.at.tzinfo is not None and s.memory >= 0 and s.cpu >= 0 for s in samples)
    assert (await alice.job(job.id)).is_finished


async def test_sync_top_stops_at_the_end_event(alice_sync: NeuroClient) -> None:
    def top() -> int:
        job = alice_sync.run({"image": "ubuntu", "command": "sleep 1"})
        alice_sync.wait_for(job.id, running, poll=0.05, timeout=20)
        return len(list(alice_sync.top(job.id, interval=0.2)))

    assert await in_thread(top) >= 1


async def test_sync_exec_gives_output_and_exit_code(
    alice: AsyncNeuroClient, alice_sync: NeuroClient
) -> None:
    job = await alice.run({**SLEEP, "env": {"GREETING": "hi"}})
    await alice.wait_for(job.id, running, poll=0.05, timeout=20)

    def run_in_job() -> tuple[bytes, int | None]:
        with alice_sync.exec(job.id, ["sh", "-c", "echo $GREETING; exit 3"]) as session:
            output = b"".join(session.output())
            return output, session.exit_code

    assert await in_thread(run_in_job) == (b"hi\n", 3)

    def with_stdin() -> tuple[bytes, int | None]:
        with alice_sync.exec(job.id, ["sh", "-c", "read line; echo got $line"]) as session:
            session.send(b"hello\n")
            session.close_stdin()
            return b"".join(session.output()), session.exit_code

    assert await in_thread(with_stdin) == (b"got hello\n", 0)
    await alice.kill(job.id)


async def test_async_exec_with_a_tty(alice: AsyncNeuroClient) -> None:
    job = await alice.run(SLEEP)
    await alice.wait_for(job.id, running, poll=0.05, timeout=20)
    session = await alice.exec(job.id, ["sh", "-c", "test -t 0 && echo tty"], tty=True)
    async with session:
        await session.resize(24, 80)
        output = b"".join([chunk async for chunk in session.output()])
    assert b"tty" in output and session.exit_code == 0
    await alice.kill(job.id)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({}, "image"),
        ({"image": "ubuntu", "command": "true", "name": "Bad_Name"}, "name"),
        ({"image": "ubuntu", "command": "true", "preset": "huge"}, "preset"),
    ],
)
async def test_bad_input_is_invalid_spec_naming_the_field(
    alice: AsyncNeuroClient, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSpec) as bad:
        await alice.run(spec)
    assert bad.value.field == field and bad.value.message


async def test_every_error_answer_is_typed(
    alice: AsyncNeuroClient, alice_sync: NeuroClient, alice_config: ApiConfig
) -> None:
    with pytest.raises(NotFound, match="nothing-here"):
        await alice.job("nothing-here")
    with pytest.raises(NotFound, match="nothing-here"):
        await in_thread(alice_sync.job, "nothing-here")
    with pytest.raises(InvalidSpec) as bad_ref:
        await alice.job("Not A Ref")
    assert bad_ref.value.field == "ref"
    with pytest.raises(InvalidSpec) as bad_query:
        await alice.jobs(status=["sleeping"])
    assert bad_query.value.field == "status"

    await alice.run({**SLEEP, "name": "unique"})
    with pytest.raises(Conflict, match="unique"):
        await alice.run({**SLEEP, "name": "unique"})
    with pytest.raises(Conflict, match="unique"):
        await in_thread(alice_sync.run, {**SLEEP, "name": "unique"})

    async with AsyncNeuroClient(ApiConfig(alice_config.url, "wrong")) as stranger:
        with pytest.raises(Forbidden, match="NEURO_API_TOKEN"):
            await stranger.presets()
    await alice.kill("unique")


async def test_refused_exec_raises_the_same_typed_errors(
    alice: AsyncNeuroClient, alice_sync: NeuroClient
) -> None:
    with pytest.raises(NotFound):
        await in_thread(alice_sync.exec, "no-such-job", ["true"])
    with pytest.raises(NotFound):
        await alice.exec("no-such-job", ["true"])
    job = await alice.run(SLEEP)
    await alice.wait_for(job.id, running, poll=0.05, timeout=20)
    with pytest.raises(InvalidSpec) as empty:
        await alice.exec(job.id, [])
    assert empty.value.field == "cmd"
    await alice.kill(job.id)
    with pytest.raises(Conflict, match="not running"):
        await in_thread(alice_sync.exec, job.id, ["true"])


async def test_wait_for_gives_up_after_its_timeout(
    alice: AsyncNeuroClient, alice_sync: NeuroClient
) -> None:
    job = await alice.run(SLEEP)
    with pytest.raises(TimeoutError):
        await alice.wait_for(job.id, lambda j: False, poll=0.05, timeout=0.2)
    with pytest.raises(TimeoutError):
        await in_thread(alice_sync.wait_for, job.id, lambda j: False, poll=0.05, timeout=0.2)
    await alice.kill(job.id)


async def test_a_kernel_finds_its_server_from_the_runtime_file(
    jp_serverapp: Any, tmp_path: Path
) -> None:
    # What a kernel sees: JPY_PARENT_PID, and the server's jpserver-PID.json.
    info = jp_serverapp.server_info()
    (tmp_path / f"jpserver-{info['pid']}.json").write_text(json.dumps(info))
    environ = {"JPY_PARENT_PID": str(info["pid"]), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    config = ApiConfig.discover(environ)
    assert config.url.endswith(f"{jp_serverapp.base_url}neuro/api/v1/")
    async with AsyncNeuroClient(config) as neuro:
        _, default = await neuro.presets()
    assert default == "cpu-small"
