"""The emulator in a thread of its own, for clients in other processes or sync tests.

A JupyterHub running as a subprocess (tests/ui/test_hub_kubernetes.py) reaches
it through a kubeconfig; the test itself, whose thread has no event loop of
the emulator's, reads it through :meth:`EmulatorThread.call`::

    with EmulatorThread(KubeletConfig(nodes=[...])) as k8s:
        k8s.emulator.write_kubeconfig(path)
        pods = k8s.call(lambda emulator: emulator.store.list("pods", "default"))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from .emulator import KubernetesEmulator
from .kubelet import KubeletConfig

__all__ = ["EmulatorThread"]

T = TypeVar("T")


class EmulatorThread:
    """A started :class:`KubernetesEmulator` serving from a daemon thread's event loop.

    Args:
        config: nodes, missing images, timings (see :class:`KubeletConfig`).
    """

    def __init__(self, config: KubeletConfig | None = None) -> None:
        self.emulator = KubernetesEmulator(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="k8s")

    def start(self, timeout: float = 30) -> None:
        """Start the loop's thread and the emulator in it (API, scheduler, kubelet)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self._loop).result(timeout)

    def stop(self, timeout: float = 60) -> None:
        """Stop the emulator (its pods' processes are killed), then the loop and its thread."""
        try:
            asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._loop.close()

    def call(self, fn: Callable[[KubernetesEmulator], T], timeout: float = 30) -> T:
        """``fn(emulator)``, run on the emulator's loop (so it sees a consistent state)."""

        async def run() -> T:
            return fn(self.emulator)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
