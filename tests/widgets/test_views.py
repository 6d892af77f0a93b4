"""The small views of the widgets: pure functions of parsed records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from neuro_jupyter.client import Job
from neuro_jupyter.widgets.views import (
    elapsed_text,
    open_url_html,
    status_badge_html,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def job(status: str, **fields: Any) -> Job:
    record = {
        "id": "job-1", "owner": "alice", "status": status, "image": "ubuntu",
        "created_at": at(0), "resources": {"name": "cpu-small", "cpu": 1, "memory": 2**30},
    }  # fmt: skip
    return Job.from_json({**record, **fields})


def test_elapsed_time_says_what_the_job_is_doing() -> None:
    now = T0 + timedelta(seconds=75)
    assert elapsed_text(job("pending"), now) == "for 1m15s"
    assert elapsed_text(job("running", started_at=at(15)), now) == "for 1m"
    finished = job("succeeded", started_at=at(1), finished_at=at(3))
    assert elapsed_text(finished, now) == "ran for 2s"
    assert elapsed_text(job("cancelled", finished_at=at(4)), now) == "ended after 4s"
    assert elapsed_text(job("pending"), T0) == "for 0s"


def test_the_badge_shows_reason_description_and_exit_code_escaped() -> None:
    badge = status_badge_html(
        job("failed", reason="Error", status_description="<oops>", exit_code=3)
    )
    assert "failed (Error)" in badge and "&lt;oops&gt;" in badge and "exit code 3" in badge
    assert "<oops>" not in badge


def test_open_url_only_while_running() -> None:
    url = "http://127.0.0.1/neuro/jobs/a--b/?x=1&y=2"
    assert 'href="http://127.0.0.1/neuro/jobs/a--b/?x=1&amp;y=2"' in open_url_html(
        job("running", http_url=url)
    )
    assert open_url_html(job("succeeded", http_url=url)) == ""
    assert open_url_html(job("running")) == ""
