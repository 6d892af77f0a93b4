"""Run real notebooks with nbclient on a kernel that a real Jupyter server started.

The kernel is created through the server's REST API, so it inherits the
server's environment exactly as a user's kernel does (NEURO_API_URL,
JPY_PARENT_PID); nbclient attaches to it through its connection file.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from tests.real_server import TOKEN, RealServer


class ServerKernel:
    """A kernel of ``server``, made and ended through its REST API.

    ``server`` is anything with the neuro API's root as ``api`` (a
    :class:`RealServer`, or a user's server under a hub with that user's ``token``).
    """

    def __init__(self, server: Any, runtime_dir: Path, token: str = TOKEN) -> None:
        self.server = server
        self.token = token
        data = self._call("POST", "api/kernels", {"name": "python3"})
        self.id: str = data["id"]
        self.connection_file = runtime_dir / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 30
        while not self.connection_file.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no connection file for kernel {self.id}")
            time.sleep(0.05)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        root = self.server.api.removesuffix("neuro/api/v1/")
        request = urllib.request.Request(
            root + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def interrupt(self) -> None:
        """What the notebook's stop button does."""
        self._call("POST", f"api/kernels/{self.id}/interrupt")

    def shutdown(self) -> None:
        """End the kernel (again: nbclient may have done so already)."""
        try:
            self._call("DELETE", f"api/kernels/{self.id}")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise


class ServerKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """Lets nbclient use a kernel that the server owns (it never starts one).

    Made with ``owns_kernel=False``: jupyter_client then treats the kernel as
    alive and never signals it itself.
    """

    server_kernel: ServerKernel | None = None

    @property
    def has_kernel(self) -> bool:
        return True

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        assert self.server_kernel is not None
        self.server_kernel.shutdown()

    async def interrupt_kernel(self) -> None:
        assert self.server_kernel is not None
        self.server_kernel.interrupt()

    async def cleanup_resources(self, restart: bool = False) -> None:
        return None


def make_notebook(cells: Sequence[str]) -> Any:
    """A notebook of code cells."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return notebook


@contextmanager
def server_kernel(server: RealServer, runtime_dir: Path) -> Iterator[ServerKernel]:
    kernel = ServerKernel(server, runtime_dir)
    try:
        yield kernel
    finally:
        kernel.shutdown()


def run_notebook(
    kernel: ServerKernel,
    cells: Sequence[str],
    *,
    timeout: float = 120,
    interrupt_after: tuple[int, float] | None = None,
) -> Any:
    """Execute ``cells`` on ``kernel``; the notebook with its outputs.

    ``interrupt_after=(cell, seconds)`` presses "interrupt" that long after
    that cell began, as a user would.
    """
    notebook = make_notebook(cells)
    manager = ServerKernelManager(connection_file=str(kernel.connection_file), owns_kernel=False)
    manager.load_connection_file()
    manager.server_kernel = kernel
    timers: list[threading.Timer] = []

    def on_cell_start(cell: Any, cell_index: int) -> None:
        if interrupt_after is not None and interrupt_after[0] == cell_index:
            timer = threading.Timer(interrupt_after[1], kernel.interrupt)
            timers.append(timer)
            timer.start()

    client = NotebookClient(
        notebook,
        km=manager,
        timeout=timeout,
        allow_errors=True,
        on_cell_start=on_cell_start,
    )
    try:
        # The kernel outlives this notebook (ServerKernel ends it): only the
        # client's channels are closed here.
        client.execute(cleanup_kc=False)
    finally:
        for timer in timers:
            timer.cancel()
        if client.kc is not None:
            client.kc.stop_channels()
    return notebook


def cell_text(cell: Any) -> str:
    """All text a cell shows: streams, plain-text results, errors."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append("\n".join(output["traceback"]))
    return "".join(parts)


def run_cells(kernel: ServerKernel, *cells: str, **kwargs: Any) -> list[str]:
    """Execute ``cells`` (see :func:`run_notebook`); the text each one shows."""
    notebook = run_notebook(kernel, list(cells), **kwargs)
    return [cell_text(cell) for cell in notebook.cells]
