"""Under a real JupyterHub, in a real Chromium: bob logs in through the hub's
login page, his sidebar lists the job alice shared with him, and its HTTP URL
opens for him (HTTP and WebSocket) through the jobs service; carol gets 404
and an anonymous visitor is sent to the hub's login.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.hub.realhub import RealHub, api, password_of, wait_job
from tests.real_server import free_port
from tests.ui.conftest import Shots
from tests.ui.test_sidebar import open_sidebar, row, tid

pytestmark = pytest.mark.timeout(300)

APP = Path(__file__).parent.parent / "resources" / "upstream_app.py"


@pytest.fixture(scope="module")
def shared_site(hub: RealHub) -> Iterator[dict[str, Any]]:
    """alice's web app as a job, shared with bob (read) and another with group ml."""
    with api(hub.service_url, hub.service_token("alice")) as alice:
        jobs = []
        for name, grantee in (("report", "bob"), ("ml-board", "group:ml")):
            port = free_port()
            spec = {
                "image": "python",
                "name": name,
                "command": f"{sys.executable} {APP} --port {port}",
                "http": {"port": port},
            }
            assert alice.post("jobs", json=spec).status_code == 201
            assert alice.put(f"jobs/{name}/shares/{grantee}", json={"level": "read"}).is_success
            jobs.append(wait_job(alice, name, lambda j: j["status"] == "running"))
        yield {job["name"]: job for job in jobs}
        for job in jobs:
            alice.delete(f"jobs/{job['id']}")


def log_in(browser: Any, hub: RealHub, user: str | None) -> Any:
    """A fresh browser context, logged in to the hub as ``user`` (None: anonymous)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    if user is not None:
        page.goto(f"{hub.url}hub/login?next=/hub/home")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password_of(user))
        page.click("#login_submit")
        page.wait_for_url("**/hub/home")
    return page


def open_job_page(page: Any, url: str) -> Any:
    """Open ``url`` (the job's app answers every path with JSON), retrying while it binds."""
    response = page.goto(url)
    for _ in range(50):
        if response is not None and response.status != 502:
            break
        page.wait_for_timeout(200)
        response = page.goto(url)
    return response


def test_bob_sees_alices_shared_job_in_his_sidebar_and_opens_it(
    browser: Any, hub: RealHub, shared_site: dict[str, Any]
) -> None:
    hub.start_server("bob")
    page = log_in(browser, hub, "bob")
    shots = Shots(page, "hub-bob")
    page.goto(f"{hub.url}user/bob/lab")  # the hub's OAuth for his server, then the lab
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=30_000)
    open_sidebar(page)
    for name in ("report", "ml-board"):  # shared with him, and with his group
        expect(row(page, name)).to_have_count(1, timeout=30_000)
        expect(row(page, name)).to_have_attribute("data-status", "running")
    shots("sidebar")

    href = row(page, "report").locator(tid("neuro-job-url")).get_attribute("href")
    assert href == shared_site["report"]["http_url"], href
    assert "/services/neuro/jobs/report--alice/" in href

    job_page = page.context.new_page()
    response = open_job_page(job_page, href + "hello")
    assert response is not None and response.status == 200
    echoed = response.json()
    assert echoed["uri"] == "/hello"
    # bob's hub credentials stay behind
    assert "authorization" not in {name.lower() for name, _ in echoed["headers"]}
    assert not [c for c in echoed["cookies"] if "jupyterhub" in c or "neuro" in c]
    Shots(job_page, "hub-bob-job")("job-page")

    # A WebSocket to the job as bob, from a page of the hub's origin (his lab).
    # (The job's own pages run sandboxed for anyone but its owner: a unique
    # origin, whose requests carry no login cookie.)
    echoed_back = page.evaluate(
        """url => new Promise((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.onmessage = event => {
              if (event.data === 'hello') { resolve(event.data); ws.close(); }
              else { ws.send('hello'); }
            };
            ws.onerror = () => reject(new Error('refused'));
        })""",
        href.replace("http://", "ws://") + "ws",
    )
    assert echoed_back == "hello"


def test_carol_gets_404_and_an_anonymous_visitor_the_hub_login(
    browser: Any, hub: RealHub, shared_site: dict[str, Any]
) -> None:
    url = shared_site["report"]["http_url"]
    carol = log_in(browser, hub, "carol")
    response = open_job_page(carol, url)
    assert response is not None and response.status == 404
    assert "report" not in carol.content() or "not found" in carol.content()
    refused = carol.evaluate(
        """url => new Promise(resolve => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve('open');
            ws.onerror = () => resolve('refused');
        })""",
        url.replace("http://", "ws://") + "ws",
    )
    assert refused == "refused"

    anonymous = log_in(browser, hub, None)
    anonymous.goto(url)
    anonymous.wait_for_url("**/hub/login**")
    expect(anonymous.locator("input[name=username]")).to_be_visible()
    Shots(anonymous, "hub-anonymous")("login")
