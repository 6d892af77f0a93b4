"""The output file and its time index: writing, reading, following."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from neuro_jupyter.backends import logs
from neuro_jupyter.backends.base import FileRegion
from neuro_jupyter.backends.logs import (
    READ_SIZE,
    LogIndex,
    LogWriter,
    format_stamp,
    read_log,
    read_log_regions,
    tail_offset,
)
from tests.utils import wait_for

T0 = 1_700_000_000.0


async def read_all(path: Path, **kwargs: object) -> bytes:
    chunks = [c async for c in read_log(path, follow=False, is_done=lambda: True, **kwargs)]  # type: ignore[arg-type]
    return b"".join(chunks)


def write(path: Path, *chunks: tuple[float, bytes]) -> None:
    writer = LogWriter(path)
    for at, data in chunks:
        writer.write(data, now=at)
    writer.close()


def test_format_stamp() -> None:
    assert format_stamp(T0 + 0.25) == b"2023-11-14T22:13:20.250000Z "


async def test_timestamps_prefix_each_line_with_when_it_began(tmp_path: Path) -> None:
    write(tmp_path, (T0, b"a\nb"), (T0 + 1, b"c\nd\r\n"), (T0 + 2, b"e\n"))
    stamped = await read_all(tmp_path, timestamps=True)
    s0, s1, s2 = (format_stamp(T0 + i) for i in range(3))
    assert stamped == s0 + b"a\n" + s0 + b"bc\n" + s1 + b"d\r\n" + s2 + b"e\n"


async def test_since_skips_lines_begun_before(tmp_path: Path) -> None:
    write(tmp_path, (T0, b"old\npart"), (T0 + 1, b"ial\nnew\n"), (T0 + 2, b"newer\n"))
    since = datetime.fromtimestamp(T0 + 1, timezone.utc)
    assert await read_all(tmp_path, since=since) == b"new\nnewer\n"
    late = datetime.fromtimestamp(T0 + 5, timezone.utc)
    assert await read_all(tmp_path, since=late) == b""


def test_close_writes_share_one_index_record(tmp_path: Path) -> None:
    write(tmp_path, (T0, b"a"), (T0 + 0.001, b"b"), (T0 + 0.1, b"c"))
    index = LogIndex(tmp_path / "output.idx")
    index.refresh()
    assert index.offsets == [0, 2]


async def test_large_output_comes_in_large_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * (3 * READ_SIZE // 256 + 7)
    write(tmp_path, (T0, data))
    chunks = [c async for c in read_log(tmp_path, follow=False, is_done=lambda: True)]
    assert b"".join(chunks) == data
    assert len(chunks) == 4 and len(chunks[0]) == READ_SIZE


async def test_follow_drains_what_was_written_before_the_end(tmp_path: Path) -> None:
    done = asyncio.Event()
    got: list[bytes] = []

    async def follow() -> None:
        async for chunk in read_log(tmp_path, follow=True, is_done=done.is_set):
            got.append(chunk)

    task = asyncio.create_task(follow())
    writer = LogWriter(tmp_path)  # the file appears after the reader started
    writer.write(b"first\n")
    await asyncio.sleep(0.05)
    writer.write(b"last\n")
    writer.close()
    done.set()
    await asyncio.wait_for(task, 2)
    assert b"".join(got) == b"first\nlast\n"


async def test_regions_cover_the_log_exactly(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096 + b"tail\r"
    write(tmp_path, (T0, data))
    regions = [r async for r in read_log_regions(tmp_path, follow=False, is_done=lambda: True)]
    assert [(r.offset, r.length) for r in regions] == [(0, len(data))]
    assert b"".join(r.read() for r in regions) == data


async def test_following_regions_yields_growth_until_the_end(tmp_path: Path) -> None:
    done = asyncio.Event()
    regions: list[FileRegion] = []

    async def follow() -> None:
        async for region in read_log_regions(tmp_path, follow=True, is_done=done.is_set):
            regions.append(region)

    task = asyncio.create_task(follow())
    writer = LogWriter(tmp_path)  # the file appears after the reader started
    writer.write(b"first\n")
    await wait_for(lambda: regions)
    writer.write(b"last\n")
    writer.close()
    done.set()
    await asyncio.wait_for(task, 2)
    assert b"".join(r.read() for r in regions) == b"first\nlast\n"
    assert [r.offset for r in regions] == [0, 6]


async def test_followers_look_again_when_a_nap_ends_early(tmp_path: Path) -> None:
    # A nap woken by news (here: at once, after writing) is followed by a look
    # at the file, not by the rest of a long poll interval.
    writer = LogWriter(tmp_path)
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        writer.write(b"news\n")

    follow = read_log_regions(tmp_path, follow=True, is_done=lambda: False, nap=nap)
    region = await asyncio.wait_for(anext(follow), 5)
    assert (region.offset, region.length) == (0, 5) and naps == [0.002]
    await follow.aclose()
    lines = read_log(tmp_path, follow=True, is_done=lambda: False, nap=nap, poll_interval=60)
    assert await asyncio.wait_for(anext(lines), 5) == b"news\n"
    assert await asyncio.wait_for(anext(lines), 5) == b"news\n"
    assert len(naps) == 2
    await lines.aclose()
    writer.close()


async def test_tail_starts_at_the_last_lines(tmp_path: Path) -> None:
    write(tmp_path, (T0, b"one\ntwo\rtwo!\nthree\n"), (T0 + 10, b"four\nfive"))
    assert await read_all(tmp_path, tail=2) == b"four\nfive"  # an unfinished line counts
    assert await read_all(tmp_path, tail=4) == b"two\rtwo!\nthree\nfour\nfive"  # \r ends no line
    assert await read_all(tmp_path, tail=0) == b""
    assert await read_all(tmp_path, tail=99) == b"one\ntwo\rtwo!\nthree\nfour\nfive"
    # With since: the last lines of those written since.
    since = datetime.fromtimestamp(T0 + 5, timezone.utc)
    assert await read_all(tmp_path, tail=99, since=since) == b"four\nfive"
    regions = [
        r async for r in read_log_regions(tmp_path, follow=False, is_done=lambda: True, tail=1)
    ]
    assert b"".join(r.read() for r in regions) == b"five"


def test_tail_reads_backwards_across_blocks(tmp_path: Path) -> None:
    lines = [f"line {i}".encode() * 50 for i in range(2000)]
    (tmp_path / "output.log").write_bytes(b"\n".join(lines) + b"\n")
    whole = (tmp_path / "output.log").read_bytes()
    for n in (1, 7, 500, 1999, 2000, 5000):
        start = tail_offset(tmp_path / "output.log", n)
        assert whole[start:].splitlines() == lines[-n:]
    assert len(whole) // 10 > logs.TAIL_READ  # the blocks above were many
