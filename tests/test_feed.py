"""JobFeed: ordered changes, resume positions, readers that fall behind."""

from __future__ import annotations

import asyncio

from neuro_jupyter.feed import RESET, JobChange, JobFeed
from neuro_jupyter.jobs.model import Job, JobSpec, JobStatus, Preset


def a_job() -> Job:
    return Job.create("alice", JobSpec(image="ubuntu", command="true"), Preset("cpu", 1, 1 << 30))


async def read(feed: JobFeed, after: int | None) -> list[object]:
    return [c if c is RESET else c.seq for c in [x async for x in feed.follow(after, wait=False)]]  # type: ignore[union-attr]


async def test_a_reader_gets_the_changes_after_its_position_in_order() -> None:
    feed = JobFeed(size=8)
    job = a_job()
    changes = [feed.publish(job, None) for _ in range(5)]
    assert feed.position(feed.event_id(changes[1])) == 2
    assert await read(feed, 2) == [3, 4, 5]
    assert feed.position(None) == 5  # no id: from now on


async def test_a_position_out_of_the_ring_or_run_is_none() -> None:
    feed = JobFeed(size=4)
    job = a_job()
    changes = [feed.publish(job, JobStatus.PENDING) for _ in range(10)]
    assert feed.position(feed.event_id(changes[5])) == 6  # the ring holds 7..10
    assert feed.position(feed.event_id(changes[4])) is None  # 6 is gone
    assert feed.position(f"{feed.epoch}-11") is None  # never given
    assert feed.position(f"other-{changes[8].seq}") is None  # another run
    assert await read(feed, None) == [RESET]


async def test_a_reader_that_falls_behind_gets_reset_then_the_oldest_kept() -> None:
    feed = JobFeed(size=4)
    job = a_job()
    reader = feed.follow(0)
    feed.publish(job, None)
    first = await anext(reader)
    assert isinstance(first, JobChange) and first.seq == 1
    for _ in range(9):  # the reader reads nothing meanwhile
        feed.publish(job, None)
    assert await anext(reader) is RESET
    rest = [await anext(reader) for _ in range(4)]
    assert [c.seq for c in rest if isinstance(c, JobChange)] == [7, 8, 9, 10]
    await reader.aclose()


async def test_close_ends_waiting_readers() -> None:
    feed = JobFeed()
    seen: list[object] = []

    async def reader() -> None:
        async for change in feed.follow(0):
            seen.append(change)

    task = asyncio.ensure_future(reader())
    await asyncio.sleep(0)
    assert feed.readers == 1
    feed.publish(a_job(), None)
    await feed.close()
    await task
    assert len(seen) == 1 and feed.readers == 0
