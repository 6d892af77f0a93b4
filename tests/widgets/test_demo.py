"""examples/demo.ipynb, top to bottom, on a kernel that a real server started (nbclient)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.notebook import ServerKernel, cell_text, run_notebook, server_kernel
from tests.real_server import RealServer

DEMO = Path(__file__).parents[2] / "examples" / "demo.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def shows_widget(cell: Any) -> bool:
    return any(WIDGET_VIEW in output.get("data", {}) for output in cell.outputs)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerKernel]:
    root = tmp_path_factory.mktemp("demo")
    runtime = root / "runtime"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    for name in ("NEURO_API_URL", "NEURO_API_TOKEN"):
        env.pop(name, None)  # the kernel finds the API by itself, as a user's does
    server = RealServer(root, env=env)
    server.start()
    try:
        with server_kernel(server, runtime) as a_kernel:
            yield a_kernel
    finally:
        server.stop()


def run_demo(kernel: ServerKernel) -> list[Any]:
    """examples/demo.ipynb's code cells, run on ``kernel``, with their outputs."""
    cells = nbformat.read(DEMO, as_version=4).cells
    sources = [c.source for c in cells if c.cell_type == "code"]
    return list(run_notebook(kernel, sources, timeout=120).cells)


@pytest.fixture
def demo_run(kernel: ServerKernel) -> list[Any]:
    return run_demo(kernel)


@pytest.mark.timeout(240)
def test_the_demo_runs_top_to_bottom(demo_run: list[Any]) -> None:
    check_demo(demo_run)


def check_demo(demo_run: list[Any]) -> None:
    """What every cell of the demo must show."""
    texts = [cell_text(cell) for cell in demo_run]
    for source, cell, text in zip([c.source for c in demo_run], demo_run, texts, strict=True):
        assert not [o for o in cell.outputs if o["output_type"] == "error"], (source, text)
        assert "Traceback" not in text and "Error:" not in text, (source, text)

    def cell(start: str) -> tuple[Any, str]:
        [index] = [i for i, c in enumerate(demo_run) if c.source.startswith(start)]
        return demo_run[index], texts[index]

    assert "Hello, World!" in cell("%neuro run --preset cpu-small --name hello")[1]
    assert "'running'" in cell("sleeper = ")[1]
    assert "step 3" in cell("%%neuro run --name counting")[1]
    widget_run, widget_text = cell("progress = %neuro run --widget")
    assert shows_widget(widget_run) and "done" not in widget_text  # a monitor, not the text
    assert shows_widget(cell("from neuro_jupyter.widgets import")[0])
    assert cell("finished = monitor.wait")[1].strip() == "succeeded '100%\\ndone\\n'"
    assert shows_widget(cell("form = JobForm(")[0])
    assert re.search(r"'name': \"job name 'Not A Name' is invalid", cell("form.launch()")[1])
    assert cell("form.inputs[")[1].strip() == "'succeeded'"
    assert cell("long_monitor.kill()")[1].strip() == "'cancelled'"
    assert shows_widget(cell("JobList(")[0])


def test_run_widget_says_what_went_wrong_as_run_does(kernel: ServerKernel) -> None:
    cells = run_notebook(kernel, [
        "%load_ext neuro_jupyter",
        "%neuro run --widget --name Bad_Name ubuntu true",
        "%neuro run --widget --preset no-such-preset ubuntu true",
        "%neuro run --widget ubuntu echo --widget",
    ]).cells  # fmt: skip
    usage, refused, widget = (cell_text(cell) for cell in cells[1:])
    assert "usage: %neuro run" in usage and "Bad_Name" in usage
    assert "Error: unknown preset 'no-such-preset'" in refused
    assert not any(shows_widget(cell) for cell in cells[1:3])
    assert shows_widget(cells[3]) and widget.count("JobMonitor") == 1
