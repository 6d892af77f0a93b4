"""The sidebar's row actions and the launch form's presets, in a real JupyterLab
and a real headless Chromium (issue 12).

This module's lab offers a preset bigger than any machine, as its default,
beside one that fits: the form must show it disabled with the reason and
never pick it. Jobs are real local processes; screenshots go to
``test-artifacts/ui/``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.real_server import free_port
from tests.ui.conftest import Shots
from tests.ui.lab import LabServer
from tests.ui.test_sidebar import TICKER, open_sidebar, row, tid

pytestmark = pytest.mark.timeout(300)

PY = sys.executable
SERVER_CONFIG = """
c.NeuroJobs.presets = [
    {"name": "huge", "cpu": 4096, "memory": "64TiB"},
    {"name": "cpu-small", "cpu": 0.5, "memory": "256MiB"},
]
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[LabServer]:
    root = tmp_path_factory.mktemp("lab-actions")
    config = root / "jupyter_server_config.py"
    config.write_text(SERVER_CONFIG)
    server = LabServer(root, [f"--config={config}"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_presets_that_cannot_run_here_are_disabled_with_the_reason(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    refusal = lab.request("GET", "presets")["presets"][0]
    assert refusal["name"] == "huge" and refusal["unavailable"]  # the default, too big

    open_sidebar(page)
    page.locator(tid("neuro-launch-open")).click()
    expect(page.locator(tid("neuro-launch-form"))).to_have_attribute("data-loading", "false")
    select = page.locator(tid("neuro-launch-preset"))
    huge = select.locator('option[value="huge"]')
    expect(huge).to_be_disabled()
    expect(huge).to_contain_text("(cannot run here)")
    expect(huge).to_have_attribute("title", refusal["unavailable"])
    expect(select.locator('option[value="cpu-small"]')).to_be_enabled()
    # Never pre-selected, though it is the server's default.
    expect(select).to_have_value("cpu-small")
    # The reason shows under the choice, not only on hover.
    note = page.locator(tid("neuro-launch-preset-unavailable"))
    expect(note).to_be_visible()
    expect(note).to_have_text(f"huge cannot run here: {refusal['unavailable']}")
    shots("presets-unavailable")

    page.locator(tid("neuro-launch-image")).fill("ubuntu")
    page.locator(tid("neuro-launch-name")).fill("fits")
    page.locator(tid("neuro-launch-command")).fill("true")
    page.locator(tid("neuro-launch-submit")).click()
    expect(page.locator(f"{tid('neuro-job-detail')}:visible")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    assert lab.request("GET", "jobs/fits")["preset"] == "cpu-small"


def run_job(lab: LabServer, spec: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = lab.request(
        "POST", "jobs", {"image": "ubuntu", "preset": "cpu-small", **spec}
    )
    return job


def test_a_rows_actions_show_on_hover_and_in_its_context_menu(
    page: Any, lab: LabServer, shots: Shots
) -> None:
    port = free_port()
    web = run_job(lab, {
        "name": "act-web", "http": {"port": port},
        "command": f"{PY} -m http.server {port} --bind 127.0.0.1",
    })  # fmt: skip
    ticker = run_job(lab, {"name": "act-ticker", "command": TICKER})
    done = run_job(lab, {"name": "act-done", "command": "true"})
    lab.wait_job(done["id"], lambda job: job["status"] == "succeeded")
    open_sidebar(page)
    for name in ("act-web", "act-ticker"):
        expect(row(page, name)).to_have_attribute("data-status", "running", timeout=30_000)
    expect(row(page, "act-done")).to_have_attribute("data-status", "succeeded")

    # Hover: a live HTTP job offers its page, its URL and Kill; a finished one its page.
    actions = row(page, "act-web").locator(tid("neuro-job-actions"))
    expect(actions).to_be_hidden()
    row(page, "act-web").hover()
    expect(actions).to_be_visible()
    expect(actions.locator("button")).to_have_text(["Open", "URL", "Kill"])
    shots("hover-actions")
    row(page, "act-done").hover()
    expect(actions).to_be_hidden()
    done_actions = row(page, "act-done").locator(tid("neuro-job-actions"))
    expect(done_actions.locator("button")).to_have_text(["Open"])

    # Open URL opens the job's app in a new tab.
    row(page, "act-web").hover()
    with page.context.expect_page() as opened:
        actions.locator(tid("neuro-job-open-url")).click()
    assert opened.value.url.startswith(web["http_url"]), opened.value.url
    opened.value.close()

    # Kill from the hover asks first; No leaves the job running.
    row(page, "act-ticker").hover()
    row(page, "act-ticker").locator(tid("neuro-job-kill")).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Kill act-ticker")
    dialog.locator("button.jp-mod-reject").click()
    expect(dialog).to_have_count(0)
    assert lab.request("GET", f"jobs/{ticker['id']}")["status"] == "running"

    # Open from the hover: the job's page in the main area.
    row(page, "act-done").hover()
    done_actions.locator(tid("neuro-job-open-page")).click()
    detail = page.locator(f"{tid('neuro-job-detail')}:visible")
    expect(detail).to_have_attribute("data-job-id", done["id"])

    # The context menu: Lab's own menu, with the row's commands.
    page.evaluate(
        "() => window.addEventListener('copy',"
        " e => { window.__copied = e.clipboardData.getData('text'); })"
    )
    menu = page.locator(".lm-Menu")

    def context_menu(name: str) -> None:
        row(page, name).click(button="right")
        expect(menu).to_be_visible()

    def pick(label: str) -> None:
        menu.locator(".lm-Menu-item", has_text=label).first.click()
        expect(menu).to_have_count(0)

    context_menu("act-web")
    items = menu.locator(".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel")
    for label in ("Open Neuro Job", "Open Job URL", "Kill Neuro Job", "Rerun Neuro Job",
                  "Copy Job Id", "Copy Job URL"):  # fmt: skip
        expect(items.filter(has_text=label)).to_have_count(1)
    shots("context-menu")
    pick("Copy Job URL")
    page.wait_for_function("url => window.__copied === url", arg=web["http_url"])
    context_menu("act-web")
    pick("Copy Job Id")
    page.wait_for_function("id => window.__copied === id", arg=web["id"])

    # A finished job: no URL items, Kill disabled.
    context_menu("act-done")
    expect(items.filter(has_text="Open Job URL")).to_have_count(0)
    expect(menu.locator(".lm-Menu-item.lm-mod-disabled", has_text="Kill Neuro Job")).to_have_count(
        1
    )
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)

    context_menu("act-ticker")
    pick("Open Neuro Job")
    expect(detail).to_have_attribute("data-job-id", ticker["id"])

    # Kill from the menu asks first, then ends the job.
    context_menu("act-ticker")
    pick("Kill Neuro Job")
    expect(dialog).to_contain_text("Kill act-ticker")
    shots("context-kill-confirm")
    dialog.locator("button.jp-mod-warn").click()
    expect(row(page, "act-ticker")).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(detail).to_have_attribute("data-status", "cancelled")
    shots("context-killed")
    lab.request("DELETE", f"jobs/{web['id']}")
