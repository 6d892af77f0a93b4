"""One machine under a real JupyterHub, in Chromium: alice logs in, picks a
preset on the spawn form, her JupyterLab opens (its server is a job, listed in
her sidebar) and a job she launches there runs beside it.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.hub.realhub import RealHub
from tests.ui.conftest import Shots
from tests.ui.test_hub import log_in
from tests.ui.test_sidebar import PY, open_sidebar, row, tid

pytestmark = pytest.mark.timeout(300)


def test_alice_picks_a_preset_and_her_lab_runs_as_a_job(browser: Any, job_hub: RealHub) -> None:
    page = log_in(browser, job_hub, "alice")
    shots = Shots(page, "hub-presets")
    page.goto(f"{job_hub.url}hub/spawn")
    form = page.locator("#spawn_form")
    expect(form).to_contain_text("cpu-small — 0.25 CPU, 1 GiB, no GPU")
    expect(form).to_contain_text("gpu-one — 0.25 CPU, 1 GiB, 1 GPU")
    shots("spawn-form")
    page.check('input[name="preset"][value="cpu-small"]')
    page.locator('#spawn_form input[type="submit"], #spawn_form button[type="submit"]').click()
    page.wait_for_url("**/user/alice/lab**", timeout=120_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=30_000)
    open_sidebar(page)
    # Her server, a job like any other (earlier ones of this session's hub ended).
    server = row(page, "jupyterhub-server").and_(page.locator('[data-status="running"]'))
    expect(server).to_have_count(1, timeout=30_000)
    expect(server.locator(tid("neuro-job-preset"))).to_have_text("cpu-small")
    shots("lab-with-sidebar")

    page.locator(tid("neuro-launch-open")).click()
    expect(page.locator(tid("neuro-launch-form"))).to_have_attribute("data-loading", "false")
    page.locator(tid("neuro-launch-image")).fill("python")
    page.locator(tid("neuro-launch-name")).fill("beside")
    page.locator(tid("neuro-launch-command")).fill(f"{PY} -c \"print('beside the server')\"")
    page.locator(tid("neuro-launch-submit")).click()
    detail = page.locator(tid("neuro-job-detail"))
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator(tid("neuro-job-log"))).to_contain_text("beside the server")
    shots("job-beside-the-server")
    job_hub.stop_server("alice")
