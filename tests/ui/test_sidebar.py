"""The Neuro jobs sidebar in a real JupyterLab, driven by a real headless Chromium.

The lab runs under base_url ``/user/alice/`` (as under a hub prefix), with
neuro-jupyter installed by ``pip install -e .``: its server extension enabled
and its prebuilt labextension in ``share/jupyter/labextensions``. Jobs are
real local processes; screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.real_server import free_port
from tests.ui.conftest import Shots, open_lab
from tests.ui.lab import LabServer

pytestmark = pytest.mark.timeout(300)

SIDEBAR_TAB = '.jp-SideBar [data-id="neuro-jupyter-sidebar"]'
PY = sys.executable
TICKER = (
    f'{PY} -u -c "import itertools, time; '
    "[print('tick', i, flush=True) or time.sleep(0.3) for i in itertools.count(1)]\""
)


def tid(name: str) -> str:
    return f'[data-test-id="{name}"]'


def row(page: Any, name: str) -> Any:
    return page.locator(f'{tid("neuro-job-row")}[data-job-name="{name}"]')


def open_sidebar(page: Any) -> None:
    """Click the sidebar's icon, unless the restored layout shows it already."""
    if not page.locator(tid("neuro-sidebar")).is_visible():
        page.locator(SIDEBAR_TAB).click()
    page.wait_for_selector(f'{tid("neuro-job-list")}[data-loading="false"]', state="attached")


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)


def run_notebook_in_lab(page: Any, path: str) -> None:
    """Open the notebook in the lab, wait for its kernel, run every cell."""
    page.evaluate(
        "path => window.jupyterapp.commands.execute('docmanager:open', {path}).then(() => 0)",
        path,
    )
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const kernel = w && w.sessionContext && w.sessionContext.session
            && w.sessionContext.session.kernel;
          return !!kernel && kernel.status === 'idle';
        }""",
        timeout=60_000,
    )
    page.evaluate(
        "() => window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => 0)"
    )


def test_a_job_from_a_notebook_cell_is_listed_filtered_followed_killed_and_rerun(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    web_port = free_port()
    write_notebook(
        lab.root_dir / "jobs.ipynb",
        [
            "%load_ext neuro_jupyter",
            "%neuro run --detach --name ui-ticker --tag kind:project --tag target:setup "
            f"ubuntu -- {TICKER}",
            "%neuro run --detach --name ui-short --tag kind:check ubuntu echo short-lived",
            f"%neuro run --detach --name ui-web --http {web_port} ubuntu -- "
            f"{PY} -m http.server {web_port} --bind 127.0.0.1",
        ],
    )
    open_sidebar(page)
    shots("sidebar-empty")
    expect(page.locator(tid("neuro-empty"))).to_contain_text("No jobs yet")

    # Started from notebook cells, the jobs appear in the sidebar.
    run_notebook_in_lab(page, "jobs.ipynb")
    for name in ("ui-ticker", "ui-short", "ui-web"):
        expect(row(page, name)).to_have_count(1, timeout=30_000)
    ticker = row(page, "ui-ticker")
    expect(ticker).to_have_attribute("data-status", "running", timeout=20_000)
    expect(ticker.locator(tid("neuro-job-preset"))).to_have_text("cpu-small")
    expect(ticker.locator(tid("neuro-job-image"))).to_have_text("ubuntu")
    expect(ticker.locator(tid("neuro-job-when"))).not_to_be_empty()
    expect(row(page, "ui-short")).to_have_attribute("data-status", "succeeded", timeout=20_000)
    shots("jobs-from-notebook")

    # The Http URL is a link under the base URL, and it reaches the job through the proxy.
    link = row(page, "ui-web").locator(tid("neuro-job-url"))
    href = link.get_attribute("href")
    assert href is not None and "/user/alice/neuro/jobs/" in href, href
    lab.wait_job("ui-web", lambda job: job["status"] == "running")
    response = page.request.get(href)
    for _ in range(50):
        if response.status == 200:
            break
        page.wait_for_timeout(200)  # the job's server is still binding its port
        response = page.request.get(href)
    assert response.status == 200 and "Directory listing" in response.text()

    # Running only hides the finished job; search and tags narrow the list.
    page.locator(tid("neuro-filter-running")).check()
    expect(row(page, "ui-short")).to_have_count(0)
    expect(row(page, "ui-ticker")).to_have_count(1)
    shots("running-only")
    page.locator(tid("neuro-filter-running")).uncheck()
    expect(row(page, "ui-short")).to_have_count(1)
    page.locator(tid("neuro-filter-search")).fill("ticker")
    expect(row(page, "ui-web")).to_have_count(0)
    expect(row(page, "ui-short")).to_have_count(0)
    expect(row(page, "ui-ticker")).to_have_count(1)
    shots("search")
    page.locator(tid("neuro-filter-search")).fill("")
    page.locator(tid("neuro-filter-tags")).fill("kind:check")
    expect(row(page, "ui-ticker")).to_have_count(0)
    expect(row(page, "ui-short")).to_have_count(1)
    page.locator(tid("neuro-filter-tags")).fill("kind:project target:setup")
    expect(row(page, "ui-short")).to_have_count(0)
    expect(row(page, "ui-ticker")).to_have_count(1)
    shots("tags")
    page.locator(tid("neuro-filter-tags")).fill("")
    expect(page.locator(tid("neuro-job-row"))).to_have_count(3)

    # The job's page in the main area: status fields, history and the live log.
    first_id = ticker.get_attribute("data-job-id")
    ticker.click()
    detail = page.locator(tid("neuro-job-detail"))
    expect(detail).to_have_attribute("data-job-id", first_id or "")
    expect(detail).to_have_attribute("data-status", "running")
    expect(page.locator(tid("neuro-detail-id"))).to_have_text(first_id or "")
    expect(page.locator(tid("neuro-job-history"))).to_contain_text("running")
    log = page.locator(tid("neuro-job-log"))
    expect(log).to_contain_text("tick 3", timeout=20_000)
    expect(log).to_have_attribute("data-following", "true")
    shots("detail-log")

    # Kill asks first, then ends the job.
    page.locator(tid("neuro-kill")).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Kill ui-ticker")
    shots("kill-confirm")
    dialog.locator("button.jp-mod-warn").click()
    expect(detail).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(log).to_have_attribute("data-following", "false", timeout=20_000)
    expect(page.locator(tid("neuro-kill"))).to_be_disabled()
    assert lab.request("GET", f"jobs/{first_id}")["status"] == "cancelled"
    shots("killed")

    # Rerun starts a new job from the same spec and shows it.
    page.locator(tid("neuro-rerun")).click()
    expect(detail).not_to_have_attribute("data-job-id", first_id or "", timeout=20_000)
    expect(detail).to_have_attribute("data-status", "running", timeout=20_000)
    expect(log).to_contain_text("tick 1", timeout=20_000)
    second_id = detail.get_attribute("data-job-id")
    rerun = lab.request("GET", "jobs/ui-ticker")
    assert rerun["id"] == second_id != first_id
    assert rerun["status"] == "running" and rerun["tags"] == ["kind:project", "target:setup"]
    shots("rerun")

    # The sidebar stays the list beside the page.
    expect(row(page, "ui-ticker")).to_have_count(2)
    shots("list-after-rerun")
    for ref in (second_id, "ui-web"):
        lab.request("DELETE", f"jobs/{ref}")


def test_launch_form_starts_a_job_and_shows_the_servers_errors(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    open_sidebar(page)
    page.locator(tid("neuro-launch-open")).click()
    form = page.locator(tid("neuro-launch-form"))
    expect(form).to_have_attribute("data-loading", "false")
    # The fields come from GET spec, the presets from GET presets.
    for field in ("image", "command", "preset", "name", "tags", "http-port", "life_span"):
        expect(page.locator(tid(f"neuro-launch-{field}"))).to_have_count(1)
    expect(page.locator(f"{tid('neuro-launch-preset')} option").first).to_contain_text("CPU")
    shots("launch-form")

    # Bad input: the server's message, next to the field it names.
    page.locator(tid("neuro-launch-image")).fill("python:3.12")
    page.locator(tid("neuro-launch-name")).fill("Bad_Name")
    page.locator(tid("neuro-launch-submit")).click()
    expect(page.locator(tid("neuro-launch-name-error"))).to_contain_text("name")
    expect(page.locator(tid("neuro-launch-message"))).to_have_count(0)  # once, beside the field
    shots("launch-error")

    page.locator(tid("neuro-launch-name")).fill("ui-form")
    page.locator(tid("neuro-launch-command")).fill(f"{PY} -c \"print('launched from the form')\"")
    page.locator(tid("neuro-launch-tags")).fill("kind:form")
    page.locator(tid("neuro-launch-submit")).click()
    # The new job's page opens in the main area (others may be open).
    detail = page.locator(f"{tid('neuro-job-detail')}:visible")
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(detail.locator(tid("neuro-job-log"))).to_contain_text("launched from the form")
    job = lab.request("GET", "jobs/ui-form")
    assert job["image"] == "python:3.12" and job["tags"] == ["kind:form"]
    shots("launched")


def test_the_sidebar_is_restored_with_the_layout(page: Any, lab: LabServer) -> None:
    open_sidebar(page)
    page.wait_for_timeout(1500)  # the layout is saved after a debounce
    open_lab(page, lab)
    expect(page.locator(tid("neuro-sidebar"))).to_be_visible()


def test_a_server_without_the_extension_gets_a_readable_error(browser: Any, tmp_path: Path) -> None:
    server = LabServer(tmp_path, ["--ServerApp.jpserver_extensions=neuro_jupyter=False"])
    server.start()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_lab(page, server)
        open_sidebar(page)
        error = page.locator(tid("neuro-error"))
        expect(error).to_contain_text("server extension is not enabled")
        expect(error).to_contain_text("/user/alice/neuro/api/v1/jobs")
        expect(error).not_to_contain_text("<")
        Shots(page, "extension-disabled")("error")
    finally:
        server.stop()
