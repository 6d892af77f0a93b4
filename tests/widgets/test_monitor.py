"""JobMonitor against a real server and real jobs: its values follow the job, its buttons act."""

from __future__ import annotations

import html
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from neuro_jupyter.client import ApiConfig, Job, NeuroClient
from neuro_jupyter.widgets import JobMonitor
from tests.real_server import TOKEN, free_port
from tests.utils import wait_for

FAST = {"poll": 0.1, "interval": 0.2}
PROGRESS = """
import sys, time
print("start", flush=True)
for i in range(100):
    sys.stdout.write(f"{i}%\\r"); sys.stdout.flush()
time.sleep(0.5)
print("\\nend")
"""


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def monitors() -> Iterator[list[JobMonitor]]:
    made: list[JobMonitor] = []
    yield made
    for monitor in made:
        monitor.close()


def watch(
    monitors: list[JobMonitor], job: Job | str, config: ApiConfig, **kwargs: Any
) -> JobMonitor:
    monitor = JobMonitor(job, config=config, **{**FAST, **kwargs})
    monitors.append(monitor)
    return monitor


async def test_values_follow_the_job_to_its_end(
    neuro: NeuroClient,
    api_config: ApiConfig,
    monitors: list[JobMonitor],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = neuro.run({"image": "ubuntu", "name": "progress", "command": python(PROGRESS)})
    monitor = watch(monitors, job, api_config)
    seen: list[str] = [monitor.status]
    monitor.observe(lambda change: seen.append(change["new"]), names="status")
    assert monitor.status == "pending"  # shown at once, from the record it was given

    await wait_for(lambda: monitor.status == "running")
    assert monitor.elapsed.value.startswith("for ")  # after the badge: "running for 1s"
    assert not monitor.kill_button.disabled
    await wait_for(lambda: monitor.done)

    assert seen == ["pending", "running", "succeeded"]
    assert monitor.log_text == "start\n99%\nend\n"  # 100 frames, one line
    shown = html.unescape(monitor.output.value)
    assert monitor.log_text in shown and "column-reverse" in shown  # the end in view
    assert "succeeded" in monitor.status_html.value and "exit code 0" in monitor.status_html.value
    assert monitor.elapsed.value.startswith("ran for")
    assert monitor.kill_button.disabled
    assert "neuro-history" in monitor.details.value and "running" in monitor.details.value
    assert monitor.title.value == "<b>progress</b>"
    await wait_for(lambda: not monitor.following)  # the thread ends with the job
    assert capsys.readouterr() == ("", "")  # threads never print
    assert caplog.records == []


async def test_kill_button_cancels_the_job(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    job = neuro.run({"image": "ubuntu", "command": "sleep 60"})
    monitor = watch(monitors, job.id, api_config)
    await wait_for(lambda: monitor.status == "running")

    monitor.kill_button.click()

    await wait_for(lambda: monitor.done)
    assert (monitor.status, monitor.reason) == ("cancelled", "UserRequested")
    assert neuro.job(job.id).status == "cancelled"
    assert monitor.kill_button.disabled
    await wait_for(lambda: not monitor.following)


async def test_a_huge_output_keeps_only_its_tail(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    code = "import sys\nfor i in range(200_000): sys.stdout.write(f'line {i} ' + 'x' * 50 + '\\n')"
    job = neuro.run({"image": "ubuntu", "command": python(code)})
    monitor = watch(monitors, job, api_config, log_lines=100, log_chars=4000)
    await wait_for(lambda: monitor.done, timeout=60)

    lines = monitor.log_text.splitlines()
    assert len(lines) <= 100 and len(monitor.log_text) <= 4000
    assert lines[-1] == "line 199999 " + "x" * 50
    assert ">[earlier lines not shown]\n" in monitor.output.value


async def test_a_long_running_job_shows_its_latest_output(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    # 5,000 lines, then a pause: the monitor starts from the last lines (logs?tail=).
    code = "import time\nfor i in range(5000): print('epoch', i, flush=True)\ntime.sleep(60)"
    job = neuro.run({"image": "ubuntu", "command": python(code)})
    await wait_for(lambda: b"".join(neuro.logs(job.id, tail=1)) == b"epoch 4999\n", timeout=60)
    monitor = watch(monitors, job, api_config, log_lines=50)
    await wait_for(lambda: "epoch 4999" in monitor.log_text)
    lines = monitor.log_text.splitlines()
    assert lines[0] == "epoch 4950" and lines[-1] == "epoch 4999", lines[:3]
    monitor.kill()
    await wait_for(lambda: monitor.done)


async def test_telemetry_is_plotted_while_the_job_runs(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    busy = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    job = neuro.run({"image": "ubuntu", "command": python(busy)})
    monitor = watch(monitors, job, api_config, samples=5)
    await wait_for(lambda: monitor.plot.value.count("<polyline") == 2)
    assert "CPU" in monitor.plot.value and "memory" in monitor.plot.value
    await wait_for(lambda: len(monitor._series) == 5)  # bounded: the last 5 samples
    monitor.kill()
    await wait_for(lambda: monitor.done)


async def test_open_url_links_to_the_running_jobs_port(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    port = free_port()
    job = neuro.run({
        "image": "python",
        "command": [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        "http": {"port": port},
    })  # fmt: skip
    monitor = watch(monitors, job, api_config)
    await wait_for(lambda: monitor.status == "running")
    assert monitor.job is not None and monitor.job.http_url
    url = monitor.job.http_url
    assert f'href="{url}"' in monitor.open_url.value and "Open URL" in monitor.open_url.value

    def opens() -> bool:
        request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200 and b"Directory listing" in response.read()
        except OSError:
            return False  # the server in the job is not listening yet

    await wait_for(opens)
    monitor.kill()
    await wait_for(lambda: monitor.open_url.value == "")  # no link once it has ended


async def test_closing_stops_following_and_leaves_the_job_alone(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    job = neuro.run({"image": "ubuntu", "command": "sleep 60"})
    monitor = watch(monitors, job, api_config)
    await wait_for(lambda: monitor.status == "running")

    monitor.close()

    await wait_for(lambda: not monitor.following)
    assert neuro.job(job.id).status == "running"
    neuro.kill(job.id)


async def test_an_unknown_job_is_said_so(api_config: ApiConfig, monitors: list[JobMonitor]) -> None:
    monitor = watch(monitors, "no-such-job", api_config)
    await wait_for(lambda: monitor.error.value != "")
    assert "no-such-job" in monitor.error.value
    await wait_for(lambda: not monitor.following)
    assert monitor.done and monitor.status == ""


async def test_changes_are_pushed_not_polled(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    job = neuro.run({"image": "ubuntu", "command": "sleep 1"})
    # A poll once an hour: only GET events can tell the monitor the job ended.
    monitor = watch(monitors, job, api_config, poll=3600)
    await wait_for(lambda: monitor.done, timeout=30)
    assert monitor.status == "succeeded"


async def test_a_pending_job_says_why_it_waits_to_start(
    neuro: NeuroClient, api_config: ApiConfig, monitors: list[JobMonitor]
) -> None:
    # The server has 8 CPUs: 1-CPU jobs until one has to wait for a CPU.
    blockers: list[Job] = []
    try:
        waiting = None
        for _ in range(12):
            command = "sh -c 'echo started; sleep 120'"
            job = neuro.run({"image": "ubuntu", "preset": "cpu-large", "command": command})
            # Running, or pending with the reason it waits (not just being started).
            job = neuro.wait_for(
                job.id, lambda j: j.status != "pending" or bool(j.status_description)
            )
            if job.status == "pending":
                waiting = job
                break
            blockers.append(job)
        assert waiting is not None, "every job started: the server has more CPUs than 8"
        monitor = watch(monitors, waiting.id, api_config)
        await wait_for(lambda: "waiting to start:" in monitor.output.value)
        why = waiting.status_description  # e.g. "needs 1 CPU; 0 free"
        assert why and html.escape(f"waiting to start: {why}") in monitor.output.value
        assert monitor.status == "pending"

        # A CPU frees up: it starts, and the line gives way to its output.
        neuro.kill(blockers.pop().id)
        await wait_for(lambda: monitor.status == "running", timeout=30)
        await wait_for(lambda: "started" in monitor.output.value, timeout=30)
        assert "waiting to start:" not in monitor.output.value
        neuro.kill(waiting.id)
        await wait_for(lambda: monitor.done)
    finally:
        for job in blockers:
            neuro.kill(job.id, wait=False)
