"""Helpers shared by every test package."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

__all__ = ["wait_for"]


async def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` (maybe a coroutine) is true; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    async def check() -> bool:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)
