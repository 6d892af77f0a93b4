"""UI fixtures: one JupyterLab per module under a non-root base_url, a Chromium per test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright_sync

from tests.real_server import TOKEN
from tests.ui.lab import ARTIFACTS, CHROMIUM_ARGS, LABEXTENSION, LabServer, chromium_path

# A busy CI machine may take more than Playwright's default 5 s to show a change.
playwright_sync.expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is missing: apt-get install chromium (scripts/test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not (LABEXTENSION / "package.json").exists():
        pytest.fail(f"the labextension is not installed at {LABEXTENSION}: pip install -e .")
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[LabServer]:
    server = LabServer(tmp_path_factory.mktemp("lab"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class Shots:
    """Numbered screenshots of one test under ``test-artifacts/ui/``."""

    def __init__(self, page: Any, test: str) -> None:
        self.page = page
        self.test = re.sub(r"\W+", "-", test).strip("-")
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.test}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


def open_lab(page: Any, server: LabServer, path: str = "lab") -> None:
    """Load the lab (logging in with the token) and wait for it to settle."""
    page.goto(f"{server.url}{path}?token={TOKEN}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=30_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => 0)")


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    """Chromium for one test. Function-scoped: the sync API runs an event loop
    of its own, which must not be alive while pytest-asyncio sets up its loop."""
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    open_lab(page, lab)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"\W+", "-", request.node.name).strip("-")
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"))
        (ARTIFACTS / f"FAILED-{name}.console.txt").write_text("\n".join(console))
    context.close()


@pytest.fixture
def shots(page: Any, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name)
