"""The renderers: ps table and WHEN, status fields, presets, top, HTML escaping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from neuro_jupyter.client import Job, Sample
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Preset
from neuro_jupyter.render import (
    format_when,
    parse_ps_format,
    render_config_text,
    render_presets_html,
    render_presets_text,
    render_ps_html,
    render_ps_text,
    render_run_header,
    render_status_html,
    render_status_text,
    render_top_html,
    render_top_text,
)

NOW = datetime(2024, 5, 24, 14, 50, 0, tzinfo=timezone.utc)
ID1 = "job-3e5e4f2e-cc57-4e4b-af04-c795b76d9ca8"
ID2 = "job-d2c04f2e-cc57-4e4b-af04-c795b76d9ca8"
GIB = 2**30


def iso(moment: datetime) -> str:
    return moment.isoformat()


def a_job(**changes: Any) -> Job:
    """A job record shaped as ``GET jobs/{ref}`` answers it."""
    created = NOW - timedelta(seconds=30)
    data: dict[str, Any] = {
        "id": ID1, "name": "job363", "owner": "me", "cluster": "local",
        "status": "running", "reason": "", "status_description": "", "exit_code": None,
        "image": "ubuntu:latest", "command": "sleep infinity", "preset": "cpu-small",
        "tags": [], "description": "", "volumes": [], "env": {}, "workdir": None,
        "http": None, "life_span": 86400, "restart": "never", "share": [],
        "created_at": iso(created), "started_at": iso(NOW - timedelta(seconds=6)),
        "finished_at": None, "run_time_seconds": 6.0, "http_url": None,
        "resources": {"name": "cpu-small", "cpu": 1.0, "memory": 2 * GIB},
        "runtime": "local",
        "history": [
            {"status": "pending", "reason": "Creating", "at": iso(created)},
            {"status": "running", "reason": "", "at": iso(NOW - timedelta(seconds=6))},
        ],
    }  # fmt: skip
    data.update(changes)
    return Job.from_json(data)


def test_ps_has_the_guides_columns_and_you() -> None:
    jobs = [
        a_job(),
        a_job(id=ID2, name="job390", status="pending", started_at=None, owner="bob",
              created_at=iso(NOW - timedelta(seconds=26))),
    ]  # fmt: skip
    lines = render_ps_text(jobs, "me", now=NOW).splitlines()
    assert lines[0].split() == [
        "ID", "NAME", "STATUS", "WHEN", "IMAGE", "OWNER", "CLUSTER", "DESCRIPTION",
    ]  # fmt: skip
    assert lines[1].split() == [ID1, "job363", "running", "6", "seconds", "ago",
                                "ubuntu:latest", "<you>", "local"]  # fmt: skip
    assert "26 seconds ago" in lines[2] and "bob" in lines[2] and "<you>" not in lines[2]
    # Columns line up: each value starts under its title.
    assert lines[1].index("running") == lines[0].index("STATUS")
    assert lines[2].index("bob") == lines[0].index("OWNER")
    assert all(line == line.rstrip() for line in lines)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("pending", "an hour ago"), ("running", "3 minutes ago"), ("failed", "5 seconds ago")],
)
def test_when_is_created_started_or_finished(status: str, expected: str) -> None:
    job = a_job(
        status=status,
        created_at=iso(NOW - timedelta(hours=1)),
        started_at=iso(NOW - timedelta(minutes=3)),
        finished_at=iso(NOW - timedelta(seconds=5)) if status == "failed" else None,
    )
    assert expected in render_ps_text([job], "me", "when", now=NOW)


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(0), "now"),
        (timedelta(seconds=1), "a second ago"),
        (timedelta(seconds=59), "59 seconds ago"),
        (timedelta(seconds=61), "a minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=2), "2 hours ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=10), "May 14"),
        (timedelta(days=400), "Apr 20 2023"),
        (timedelta(seconds=-5), "now"),
    ],
)
def test_format_when(ago: timedelta, expected: str) -> None:
    assert format_when(NOW - ago, NOW) == expected


def test_ps_format_spec() -> None:
    job = a_job(tags=["a", "b"], description="x" * 50)
    text = render_ps_text([job], "me", "{id;max=12;Job}, desc/tags", now=NOW)
    lines = text.splitlines()
    assert lines[0].split() == ["Job", "DESCRIPTION/TAGS"]
    assert lines[1].startswith("job-3e5e4f2…")
    assert lines[1].endswith("x" * 50)
    assert lines[2].strip() == "a,b"  # the stacked value goes under it
    columns = parse_ps_format("{status;align=right;width=10}")
    assert columns[0].column.align == "right" and columns[0].column.width == 10


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("bogus", "unknown"),
        ("s", "ambiguous"),
        ("{id;align=middle}", "align"),
        ("{id;max=x}", "whole number"),
        ("{id", "brace"),
        ("", "no columns"),
    ],
)
def test_bad_ps_format_names_the_rule(spec: str, words: str) -> None:
    with pytest.raises(InvalidSpec, match=words):
        parse_ps_format(spec)


def test_status_fields_in_order() -> None:
    job = a_job(
        tags=["t1"], description="my job", http={"port": 8080, "auth": False},
        http_url="http://127.0.0.1:8888/neuro/jobs/job363--me/", env={"A": "1"},
        volumes=["storage:data:/data:ro"], restart="on-failure",
        resources={"name": "gpu", "cpu": 2.0, "memory": 4 * GIB, "gpu": 1, "gpu_model": "h100"},
    )  # fmt: skip
    text = render_status_text(job, NOW)
    labels = [line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")]
    assert labels[:20] == [
        "Job", "Name", "Tags", "Owner", "Cluster", "Description", "Status", "Image", "Command",
        "Preset", "Resources", "Preemptible", "Life span", "Restart policy", "Volumes",
        "Http URL", "Http port", "Http authentication", "Environment", "Created",
    ]  # fmt: skip
    assert "  Memory: 4.0G\n  CPU: 2.0\n  GPU: 1 x h100\n" in text
    assert "Life span: 1d\n" in text and "Http authentication: False\n" in text
    assert f"Life span ends (approx): {(NOW + timedelta(seconds=86394)).isoformat()}" in text
    assert "Status transitions:" in text and "Creating" in text


def test_status_of_a_failed_job() -> None:
    job = a_job(
        status="failed", reason="OOMKilled", exit_code=137, life_span=0,
        finished_at=iso(NOW), status_description="out of memory",
    )  # fmt: skip
    text = render_status_text(job, NOW)
    assert "Status: failed (OOMKilled)\n" in text
    assert "Exit code: 137\n" in text and "Life span: no limit\n" in text
    assert "Life span ends" not in text and "Finished: " in text


def test_html_escapes_everything_and_links_urls() -> None:
    evil = "<script>alert(1)</script>"
    job = a_job(description=evil, http={"port": 80}, http_url="http://h/neuro/jobs/a?x=1&y=2")
    for page in (render_status_html(job, NOW), render_ps_html([job], "me", now=NOW)):
        assert evil not in page
        assert "&lt;script&gt;" in page
    page = render_status_html(job, NOW)
    assert '<a href="http://h/neuro/jobs/a?x=1&amp;y=2" target="_blank" rel="noopener">' in page
    finished = a_job(status="succeeded", exit_code=0, finished_at=iso(NOW), description=evil)
    assert finished._repr_html_() == render_status_html(finished)


PRESETS = [
    Preset("cpu-small", 1.0, 2 * GIB),
    Preset("cpu-large", 7.0, 28 * GIB),
    Preset("gpu-small", 3.0, 57 * GIB, 1, "nvidia-tesla-k80"),
    Preset("gpu-small-p", 3.0, 57 * GIB, 1, "nvidia-tesla-k80", preemptible=True),
]


def test_presets_table_as_the_guide() -> None:
    lines = render_presets_text(PRESETS).splitlines()
    assert lines[0] == "Resource Presets:"
    assert lines[1].split() == ["Name", "CPU", "Memory", "Preemptible", "GPU"]
    assert lines[2].split() == ["cpu-small", "1.0", "2.0G", "No"]
    assert lines[3].split() == ["cpu-large", "7.0", "28.0G", "No"]
    assert lines[5].split() == ["gpu-small-p", "3.0", "57.0G", "Yes", "1", "x", "nvidia-tesla-k80"]
    config = render_config_text("me", "http://h/neuro/api/v1/", PRESETS, "cpu-small")
    assert config.startswith("User Configuration:\n  User Name: me\n")
    assert "    Name " in config
    assert "<td" in render_presets_html(PRESETS)


def test_top_table() -> None:
    samples = [Sample(NOW, 150.0, 300 * 2**20, None, None), Sample(NOW, 5.0, 2**20, 40.0, 2**30)]
    lines = render_top_text(samples).splitlines()
    assert lines[0].split() == ["TIMESTAMP", "CPU", "(%)", "MEMORY", "(MB)", "GPU", "(%)",
                                "GPU_MEMORY", "(MB)"]  # fmt: skip
    assert lines[1].split()[2:] == ["150.0", "300.0"]
    assert lines[2].split()[2:] == ["5.0", "1.0", "40.0", "1024.0"]
    assert "<table" in render_top_html(samples)


def test_run_header() -> None:
    job = a_job(status="pending", http={"port": 80}, http_url="http://h/neuro/jobs/test--me/")
    text = render_run_header(job, "neuro-jupyter")
    assert text.splitlines()[:5] == [
        f"Job ID: {ID1}", "Status: pending", "Name: job363",
        "Http URL: http://h/neuro/jobs/test--me/", "Shortcuts:",
    ]  # fmt: skip
    shortcuts = [" ".join(line.split()) for line in text.splitlines()[5:]]
    assert shortcuts == [
        "neuro-jupyter status job363 # check job status",
        "neuro-jupyter logs job363 # monitor job stdout",
        "neuro-jupyter top job363 # display real-time job telemetry",
        "neuro-jupyter exec job363 bash # execute bash shell to the job",
        "neuro-jupyter kill job363 # kill job",
    ]
    assert "%neuro kill job363" in render_run_header(job, "%neuro")
