"""``%neuro`` in real notebooks: nbclient, a kernel a real server started, real jobs.

The guide's own examples, run cell by cell, checked by what each cell shows.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.magics import compact_carriage_returns
from tests.notebook import ServerKernel, run_cells, run_notebook, server_kernel
from tests.real_server import RealServer

PY = sys.executable


def start_server(tmp_path: Path, base_url: str = "/") -> tuple[RealServer, Path]:
    runtime = tmp_path / "runtime"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    # The kernel must find the API by itself: nothing of this test process leaks in.
    for name in ("NEURO_API_URL", "NEURO_API_TOKEN"):
        env.pop(name, None)
    server = RealServer(tmp_path, env=env, base_url=base_url)
    server.start()
    return server, runtime


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerKernel]:
    server, runtime = start_server(tmp_path_factory.mktemp("magics"))
    try:
        with server_kernel(server, runtime) as kernel:
            run_notebook(kernel, ["%load_ext neuro_jupyter"])
            yield kernel
    finally:
        server.stop()


def html_of(kernel: ServerKernel, cell: str) -> str:
    notebook = run_notebook(kernel, [cell])
    return "".join(
        output["data"].get("text/html", "")
        for output in notebook.cells[0].outputs
        if output["output_type"] in ("display_data", "execute_result")
    )


def test_carriage_returns_keep_what_a_notebook_shows() -> None:
    compact = compact_carriage_returns
    assert compact("plain\ntext") == "plain\ntext"
    assert compact("10%\r20%\r30%") == "\r30%"
    assert compact("10%\r20%\r") == "\r20%\r"
    assert compact("a\rb\nc\rd\n") == "\rb\n\rd\n"


def test_the_guides_run_example_streams_into_the_cell(kernel: ServerKernel) -> None:
    [shown] = run_cells(
        kernel, "%neuro run --preset cpu-small --name test ubuntu echo Hello, World!"
    )
    assert re.search(r"Job ID: job-[0-9a-f-]{36}", shown), shown
    assert "Name: test" in shown
    assert "Status: running" in shown
    assert "Hello, World!" in shown
    assert "%neuro status test" in shown  # shortcuts in their notebook form
    assert "Traceback" not in shown


def test_ps_status_logs_and_kill_as_in_the_guide(kernel: ServerKernel) -> None:
    run_cells(kernel, "%neuro run --detach --name sleeper ubuntu sleep 60")
    ps, pending, status, logs, killed = run_cells(
        kernel,
        "%neuro ps",
        "%neuro ps -s pending",
        "%neuro status sleeper",
        "%neuro logs test",
        "%neuro kill sleeper",
    )
    for column in ("ID", "NAME", "STATUS", "WHEN", "IMAGE", "OWNER", "CLUSTER", "DESCRIPTION"):
        assert column in ps
    assert "sleeper" in ps and "running" in ps and "<you>" in ps
    assert "sleeper" not in pending
    assert "Status: running" in status and "Command: sleep 60" in status
    assert logs.strip() == "Hello, World!"
    assert re.search(r"job-[0-9a-f-]{36}", killed)
    [after] = run_cells(kernel, "%neuro status sleeper")
    assert "cancelled" in after


def test_tables_are_html_with_escaping_and_links(kernel: ServerKernel) -> None:
    run_cells(
        kernel,
        "%neuro run --detach --name linked -d '<b>bold</b>' --http 8080 ubuntu sleep 30",
    )
    html = html_of(kernel, "%neuro ps")
    assert "<table" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    status_html = html_of(kernel, "%neuro status linked")
    assert '<a href="http' in status_html and "linked--" in status_html
    run_cells(kernel, "%neuro kill linked")


def test_neuro_spellings_work_in_a_notebook(kernel: ServerKernel) -> None:
    # Issue 13: --http-port (and --http 0 = none), decoded volumes, stripped values,
    # Neu.ro's env names, an empty --since, a month as --since.
    (run,) = run_cells(
        kernel,
        "%neuro run --detach --name spelled --http-port 8080 --no-http-auth --life-span ' 2h'"
        " -e A-B=1 -v 'storage:my%20dir:/d:ro' ubuntu sleep 30",
    )
    assert "Name: spelled" in run and "Traceback" not in run, run
    status, listed, none = run_cells(
        kernel,
        "%neuro status spelled",
        "%neuro ps --since '' --until ''",
        "%neuro ps --since 9999-12",
    )
    assert "spelled--" in status and "storage:my%20dir:/d:ro" in status, status
    assert "spelled" in listed
    assert "spelled" not in none
    (unexposed,) = run_cells(
        kernel, "job = %neuro run --detach --http 0 ubuntu true\nprint(job.http_url)"
    )
    assert unexposed.strip().endswith("None"), unexposed
    run_cells(kernel, "%neuro kill spelled")


def test_a_tqdm_bar_ends_as_one_bar(kernel: ServerKernel) -> None:
    script = (
        "import time, tqdm\\n"
        "for _ in tqdm.tqdm(range(300), ncols=60, mininterval=0): time.sleep(0.005)"
    )
    [shown] = run_cells(kernel, f'%neuro run --name bar python {PY} -c "exec(\\"{script}\\")"')
    visible = [line for line in compact_carriage_returns(shown).split("\n") if "it/s" in line]
    assert len(visible) == 1, visible
    assert "100%" in visible[0] and "300/300" in visible[0]


def test_interrupt_while_attached_detaches_and_the_job_goes_on(kernel: ServerKernel) -> None:
    [shown] = run_cells(
        kernel,
        "%neuro run --name longer ubuntu sh -c 'echo started; sleep 60'",
        interrupt_after=(0, 4.0),
    )
    assert "started" in shown
    assert "it goes on running" in shown
    assert "Traceback" not in shown and "KeyboardInterrupt" not in shown
    [status] = run_cells(kernel, "%neuro status longer")
    assert "Status: running" in status
    run_cells(kernel, "%neuro kill longer")


def test_the_cell_body_is_the_jobs_script(kernel: ServerKernel) -> None:
    [shown] = run_cells(
        kernel, '%%neuro run --name script ubuntu\necho from the cell\necho "$NEURO_JOB_NAME"'
    )
    assert "from the cell\nscript" in shown
    [python] = run_cells(
        kernel, f"%%neuro run --name pyscript python\n#!{PY}\nprint(sum(range(10)))"
    )
    assert "45" in python


def test_calls_return_jobs_usable_in_code(kernel: ServerKernel) -> None:
    [shown] = run_cells(
        kernel,
        "job = %neuro run --detach --name obj ubuntu sleep 30\n"
        "print('ID', job.id, job.name, job.status, job.preset)\n"
        "jobs = %neuro ps\n"
        "print('PS', [j.name for j in jobs])\n"
        "%neuro kill obj",
    )
    assert re.search(r"ID job-[0-9a-f-]{36} obj running cpu-small", shown), shown
    assert "PS ['obj']" in shown


def test_a_value_returned_last_is_not_shown_twice(kernel: ServerKernel) -> None:
    notebook = run_notebook(kernel, ["%neuro run --detach --name twice ubuntu sleep 30"])
    rich = [o for o in notebook.cells[0].outputs if o["output_type"] != "stream"]
    assert len(rich) == 1  # the run header, and no Out[] repeating the job
    run_cells(kernel, "%neuro kill twice")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%neuro run --preset", "expected one argument"),
        ("%neuro run --name Bad_Name ubuntu true", "job name"),
        ("%neuro run --life-span 1h1d ubuntu true", "life"),
        ("%neuro run --life 1d ubuntu true", "unrecognized arguments: --life"),
        ("%neuro run --http-port 0 --no-http-auth ubuntu true", "need --http-port PORT"),
        ("%neuro run image://cluster/name true", "the project or the name is missing"),
        ("%neuro ps --stat running", "unrecognized arguments: --stat"),
        ("%neuro frobnicate", "invalid choice"),
        ("%neuro status", "the following arguments are required"),
        ("%%neuro ps\necho body", "only `run` takes a cell"),
    ],
)
def test_bad_input_prints_one_usage_line_no_traceback(
    kernel: ServerKernel, line: str, message: str
) -> None:
    [shown] = run_cells(kernel, line)
    assert "Traceback" not in shown and "Error" not in shown.split(":")[0]
    assert sum(1 for text in shown.splitlines() if text.startswith("usage:")) == 1, shown
    assert message in shown, shown


def test_an_unknown_preset_is_one_sentence_from_the_server(kernel: ServerKernel) -> None:
    [shown] = run_cells(kernel, "%neuro run --preset huge ubuntu true")
    assert "unknown preset 'huge'" in shown and "Traceback" not in shown


def test_magics_work_under_a_non_root_base_url(tmp_path: Path) -> None:
    server, runtime = start_server(tmp_path, "/base/path/")
    try:
        with server_kernel(server, runtime) as kernel:
            _, run, api = run_cells(
                kernel,
                "%load_ext neuro_jupyter",
                "%neuro run --name test ubuntu echo Hello, World!",
                "import os; print(os.environ['NEURO_API_URL'])",
            )
    finally:
        server.stop()
    assert "Hello, World!" in run and "Name: test" in run
    assert api.strip().endswith("/base/path/neuro/api/v1/")
