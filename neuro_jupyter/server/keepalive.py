"""Keep a quiet stream open: idle ticks between the items of an async iterator.

A proxy or client with a read timeout (60 s for nginx) drops a response that
sends nothing for that long; a ``top`` at a long interval, or any stream
before its first item, would be dropped (issue 14). The handler writes a
keep-alive (``: ping`` for server-sent events) for each tick.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

__all__ = ["with_keepalive"]

T = TypeVar("T")


async def with_keepalive(
    items: AsyncIterator[T], every: float, gone: asyncio.Event | None = None
) -> AsyncIterator[T | None]:
    """``items``, with a ``None`` after each ``every`` seconds without one;
    ends early once ``gone`` is set (the reader left).

    The pending read is cancelled if the consumer stops early.
    """
    pending: asyncio.Future[Any] | None = None
    left: asyncio.Future[Any] = asyncio.ensure_future((gone or asyncio.Event()).wait())
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(items.__anext__())
            done, _ = await asyncio.wait(
                {pending, left}, timeout=every, return_when=asyncio.FIRST_COMPLETED
            )
            if left in done:
                return
            if not done:
                yield None
                continue
            task, pending = pending, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        left.cancel()
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
