"""A job's page in JupyterLab's main area (issue 12), in a real Lab and Chromium:
every toolbar action and tab, the layout restored after a reload, the dark
theme and a 1000x700 window. Screenshots go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.real_server import free_port
from tests.ui.conftest import Shots, open_lab
from tests.ui.lab import LabServer
from tests.ui.test_sidebar import TICKER, open_sidebar, row, tid

pytestmark = pytest.mark.timeout(300)

PY = sys.executable


def open_page(page: Any, name: str) -> Any:
    """Open the job's page from the sidebar's list; the page."""
    open_sidebar(page)
    try:
        row(page, name).click()
    except Exception:
        state = page.evaluate(DEBUG_STATE)
        raise AssertionError(f"no row {name}: {state}") from None
    detail = page.locator(f".jp-MainAreaWidget {tid('neuro-job-detail')}:visible")
    expect(detail).to_be_visible()
    return detail


DEBUG_STATE = """() => {
  const sidebar = [...window.jupyterapp.shell.widgets('left')]
    .find(w => w.id === 'neuro-jupyter-sidebar');
  const model = sidebar.model;
  return {jobs: model.jobs.map(j => j.name + ' ' + j.status), polling: model.polling,
          connected: model.events && model.events.connected, visible: model.visible,
          error: model.error && model.error.message};
}"""

TERMINAL_TEXT = """(wanted) => new Promise(resolve => {
  const until = Date.now() + 3000;
  const read = () => {
    const widget = window.jupyterapp.shell.currentWidget;
    const term = widget && widget.content && widget.content._term;
    if (!term) { return setTimeout(read, 100); }
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) {
      lines.push(buffer.getLine(i).translateToString(true));
    }
    const text = lines.join('\\n');
    if (wanted && !text.includes(wanted) && Date.now() < until) {
      return setTimeout(read, 100);
    }
    resolve(text);
  };
  read();
})"""


def terminal_text(page: Any, wait_for: str = "") -> str:
    """What the current terminal shows (xterm draws on a canvas: its buffer),
    once it holds ``wait_for`` or after 3 s."""
    text: str = page.evaluate(TERMINAL_TEXT, wait_for)
    return text


def test_the_toolbar_and_every_tab(page: Any, lab: LabServer, shots: Shots) -> None:
    port = free_port()
    script = (
        'import http.server, sys\nprint("serving", flush=True)\n'
        f'http.server.test(http.server.SimpleHTTPRequestHandler, port={port}, bind="127.0.0.1")'
    )
    command = f"{PY} -u -c '{script}'"
    job = lab.request(
        "POST",
        "jobs",
        {"image": "ubuntu", "name": "ui-page", "command": command, "http": {"port": port}},
    )
    lab.wait_job(job["id"], lambda j: j["status"] == "running")
    detail = open_page(page, "ui-page")
    expect(detail).to_have_attribute("data-status", "running")
    expect(page.locator(tid("neuro-page-status"))).to_contain_text("running")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        "ui-page"
    )

    # Log: the output, searchable, downloadable whole.
    log = page.locator(tid("neuro-job-log"))
    expect(log).to_contain_text("serving", timeout=20_000)
    page.locator(tid("neuro-log-search")).fill("nothing like this")
    expect(log).to_have_text("")
    page.locator(tid("neuro-log-search")).fill("serv")
    expect(log).to_contain_text("serving")
    with page.expect_download() as download:
        page.locator(tid("neuro-log-download")).click()
    assert b"serving" in Path(download.value.path()).read_bytes()
    shots("log")

    # Telemetry: live numbers from top.
    page.locator(tid("neuro-tab-telemetry")).click()
    expect(page.locator(tid("neuro-telemetry-memory"))).not_to_have_text("\u2013", timeout=20_000)
    expect(page.locator(tid("neuro-telemetry-cpu"))).to_contain_text("%")  # CPU percent, as top
    shots("telemetry")

    # Details: every field, the command as given (its line breaks kept).
    page.locator(tid("neuro-tab-details")).click()
    shown = page.locator(tid("neuro-detail-command")).inner_text()
    assert "import http.server, sys\nprint" in shown, shown
    expect(page.locator(tid("neuro-job-history"))).to_contain_text("running")
    shots("details")

    # Share: the Sharing tab; add and revoke a grant.
    page.locator(tid("neuro-share")).click()
    page.locator(tid("neuro-share-user")).fill("bob")
    page.locator(tid("neuro-share-level")).select_option("write")
    page.locator(tid("neuro-share-add")).click()
    expect(page.locator(tid("neuro-share-row"))).to_contain_text("bob")
    assert lab.request("GET", "jobs/ui-page/shares")["shares"][0]["level"] == "write"
    shots("sharing")
    page.locator(tid("neuro-share-revoke")).click()
    expect(page.locator(tid("neuro-share-row"))).to_have_count(0)
    assert lab.request("GET", "jobs/ui-page/shares")["shares"] == []

    # Bump life span: asks how much, then the job has it.
    before = lab.request("GET", "jobs/ui-page")["life_span"]
    page.locator(tid("neuro-bump")).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("2h")
    dialog.locator("button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)
    page.locator(tid("neuro-tab-details")).click()
    expect(page.locator(tid("neuro-detail-life-span"))).not_to_have_text("1d")
    assert lab.request("GET", "jobs/ui-page")["life_span"] == before + 7200

    # Open URL: the job's page, through the proxy.
    with page.expect_popup() as popup:
        page.locator(tid("neuro-open-url")).click()
    popup.value.wait_for_load_state()
    assert "Directory listing" in popup.value.content()
    popup.value.close()

    # Shell: a Lab terminal running neuro-jupyter exec -t JOB in the job.
    page.locator(tid("neuro-shell")).click()
    expect(page.locator(".jp-Terminal").last).to_be_visible()
    # Only the job's environment names the job; until its shell reads the
    # input, the terminal's own shell answers "inside--42", so ask again.
    for _ in range(10):
        page.keyboard.type("echo inside-$NEURO_JOB_NAME-$((6*7))\n", delay=10)
        if "inside-ui-page-42" in terminal_text(page, wait_for="inside-ui-page-42"):
            break
    assert "inside-ui-page-42" in terminal_text(page), terminal_text(page)
    assert "exec -t " + job["id"] in terminal_text(page)
    shots("shell")

    # Kill: asks, then the status says cancelled and Kill is disabled.
    page.locator('.lm-TabBar-tab:has-text("ui-page")').first.click()
    page.locator(tid("neuro-kill")).click()
    page.locator(".jp-Dialog button.jp-mod-warn").click()
    expect(detail).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(page.locator(tid("neuro-kill"))).to_be_disabled()
    expect(page.locator(tid("neuro-shell"))).to_be_disabled()
    expect(page.locator(tid("neuro-page-status"))).to_contain_text("cancelled")
    shots("killed")

    # Rerun: the page shows the new job.
    page.locator(tid("neuro-rerun")).click()
    expect(detail).not_to_have_attribute("data-job-id", job["id"], timeout=20_000)
    expect(detail).to_have_attribute("data-status", "running", timeout=20_000)
    lab.request("DELETE", "jobs/ui-page")


def test_a_failed_job_says_why_and_the_page_is_restored_after_a_reload(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    job = lab.request(
        "POST", "jobs", {"image": "ubuntu", "name": "ui-fails", "command": f"{PY} -c 'exit(3)'"}
    )
    lab.wait_job(job["id"], lambda j: j["status"] == "failed")
    detail = open_page(page, "ui-fails")
    status = detail.locator(tid("neuro-page-status"))
    expect(status).to_contain_text("failed")
    expect(status).to_contain_text("exit code 3")
    expect(detail.locator(tid("neuro-kill"))).to_be_disabled()
    page.wait_for_timeout(1500)  # the layout is saved after a debounce
    open_lab(page, lab)
    detail = page.locator(f".jp-MainAreaWidget {tid('neuro-job-detail')}:visible")
    expect(detail).to_have_attribute("data-job-id", job["id"])
    expect(detail).to_have_attribute("data-status", "failed")
    shots("restored")


def test_dark_theme_at_1000_by_700(page: Any, lab: LabServer, shots: Shots) -> None:
    page.set_viewport_size({"width": 1000, "height": 700})
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Dark'}).then(() => 0)"
    )
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    job = lab.request("POST", "jobs", {"image": "ubuntu", "name": "ui-dark", "command": TICKER})
    lab.wait_job(job["id"], lambda j: j["status"] == "running")
    detail = open_page(page, "ui-dark")
    expect(detail.locator(tid("neuro-job-log"))).to_contain_text("tick 2", timeout=20_000)
    # The toolbar fits: every action is on screen.
    for name in ("kill", "rerun", "open-url", "share", "bump", "shell"):
        box = detail.locator(tid(f"neuro-{name}")).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1000, (name, box)
    # The log is readable: its text differs from its background.
    colors = detail.locator(tid("neuro-job-log")).evaluate(
        "n => [getComputedStyle(n).color, getComputedStyle(n).backgroundColor]"
    )
    assert colors[0] != colors[1], colors
    shots("dark-1000x700")
    expect(detail).to_have_attribute("data-status", "running")
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Light'}).then(() => 0)"
    )
    lab.request("DELETE", "jobs/ui-dark")


SHOWN_LOG = (
    "document.querySelector('.jp-MainAreaWidget:not(.lm-mod-hidden) "
    '[data-test-id="neuro-job-log"]\')'
)
EARLIER = f"""() => {{
  const log = {SHOWN_LOG};
  return {{earlier: log.dataset.earlier, text: log.textContent,
          fromBottom: log.scrollHeight - log.scrollTop, top: log.scrollTop}};
}}"""
SCROLL_TOP = f"""() => {{
  const log = {SHOWN_LOG};
  log.scrollTop = 0;
  return log.scrollHeight;
}}"""


def test_the_log_tab_loads_the_tail_then_earlier_parts_on_scrolling_up(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    # ~600 KB: the tail (1000 lines), then three earlier parts of up to 256 KiB.
    count = 30_000
    script = f"for i in range(1, {count + 1}): print(f'line {{i:05d}} ' + 'x' * 10)"
    job = lab.request(
        "POST", "jobs", {"image": "ubuntu", "name": "ui-biglog", "command": [PY, "-c", script]}
    )
    lab.wait_job(job["id"], lambda j: j["status"] == "succeeded")
    whole = "".join(f"line {i:05d} {'x' * 10}\n" for i in range(1, count + 1))
    detail = open_page(page, "ui-biglog")
    log = detail.locator(tid("neuro-job-log"))
    expect(log).to_contain_text(f"line {count:05d}")
    expect(log).to_have_attribute("data-earlier", "true")
    first = page.evaluate(EARLIER)
    tail = "".join(whole.splitlines(keepends=True)[-1000:])
    assert first["text"] == tail, first["text"][:80]  # the tail only
    shots("log-tail")

    parts = 0
    while page.evaluate(EARLIER)["earlier"] == "true":
        height = page.evaluate(SCROLL_TOP)  # at the top, the distance to the bottom is all of it
        page.wait_for_function(
            "h => { const l = document.querySelector('.jp-MainAreaWidget:not(.lm-mod-hidden) "
            '[data-test-id="neuro-job-log"]\'); return l.scrollHeight > h; }',
            arg=height,
        )
        parts += 1
        after = page.evaluate(EARLIER)
        # The earlier part went above: the lines read stay where they were.
        assert abs(after["fromBottom"] - height) <= 2 and after["top"] > 0, (after["top"], height)
        if parts == 1:
            shots("log-earlier-part")
    after = page.evaluate(EARLIER)
    assert parts == 3 and after["text"] == whole, (parts, after["text"][:40])
    expect(detail.locator(tid("neuro-log-earlier"))).to_have_count(0)
