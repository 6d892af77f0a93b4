"""One daemon thread per widget, with an event loop of its own, that follows the API.

Following a job means waiting on several streams at once (its status, its
output, its telemetry) while the kernel runs other cells. A widget hands those
coroutines to its :class:`Background`, whose thread runs them on a private loop
(never the kernel's) with an :class:`AsyncNeuroClient`. The coroutines only set
traits, never print: their errors go to the widget's ``on_error``, which shows
them. What the user does (launch, kill) runs on the caller's thread instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx

from ..client import ApiConfig, AsyncNeuroClient, NeuroError

__all__ = ["Background", "closing"]

T = TypeVar("T")
Work = Callable[[AsyncNeuroClient], Awaitable[T]]


class Background:
    """A thread running a private asyncio loop, and the API client that lives on it.

    ``on_error`` receives the message of any error a submitted coroutine
    raises (on the background thread: it must only set traits).
    """

    def __init__(self, config: ApiConfig, on_error: Callable[[str], None], name: str) -> None:
        self.config = config
        self.on_error = on_error
        self._loop = asyncio.new_event_loop()
        self._client: AsyncNeuroClient | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._drain: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._client = AsyncNeuroClient(self.config)
        try:
            self._loop.run_forever()
        finally:
            # Streams cut short are async generators: finish them before closing.
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def submit(self, work: Work[T]) -> concurrent.futures.Future[T | None]:
        """Run ``work(client)`` on the background loop; its errors go to ``on_error``.

        Returns a future of its value (None when it failed or was stopped).
        """
        if self._stopping:
            done: concurrent.futures.Future[T | None] = concurrent.futures.Future()
            done.set_result(None)
            return done
        return asyncio.run_coroutine_threadsafe(self._guarded(work), self._loop)

    async def _guarded(self, work: Work[T]) -> T | None:
        task = asyncio.current_task()
        assert task is not None and self._client is not None
        self._tasks.add(task)
        try:
            return await work(self._client)
        except asyncio.CancelledError:
            return None
        except NeuroError as error:
            self.on_error(str(error))
        except httpx.HTTPError as error:
            self.on_error(f"the connection to the Jupyter server failed: {error}")
        except Exception as error:  # shown, never printed from a thread
            self.on_error(f"{type(error).__name__}: {error}")
        finally:
            self._tasks.discard(task)
        return None

    @property
    def running(self) -> bool:
        """Whether the thread still runs."""
        return self.thread.is_alive()

    def stop(self) -> None:
        """Cancel what is in flight and end the thread (from any thread, more than once)."""
        if self._stopping:
            return
        self._stopping = True
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._shutdown)

    def _shutdown(self) -> None:
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()

        async def drain() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        self._drain = self._loop.create_task(drain())

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after :meth:`stop`); not from the thread itself."""
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Use ``stream`` (a streamed API call) and close it at the end, even when
    cut short, so its connection is released on this loop, not at its close."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
