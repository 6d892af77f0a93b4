"""JobList against a real server: ``ps``'s filters, live, and the API's messages beside them."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import ipywidgets as widgets
import pytest

from neuro_jupyter.client import ApiConfig, Job, NeuroClient
from neuro_jupyter.widgets import JobList, JobMonitor
from neuro_jupyter.widgets.joblist import ALL, LIVE
from neuro_jupyter.widgets.views import STATUS_COLORS
from tests.real_server import free_port
from tests.utils import wait_for


@pytest.fixture
def tag() -> str:
    """A tag of this test's own jobs (the server is shared by the package's tests)."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def jobs(neuro: NeuroClient, tag: str) -> Iterator[dict[str, Job]]:
    """One finished and one running job with ``tag``, and one running job without it."""
    done = neuro.run({"image": "ubuntu", "name": "done-one", "command": "true", "tags": [tag]})
    neuro.wait_for(done.id, lambda j: j.is_finished)
    made = {
        "done": neuro.job(done.id),
        "live": neuro.run({"image": "ubuntu", "command": "sleep 60", "tags": [tag, "x"]}),
        "other": neuro.run({"image": "ubuntu", "command": "sleep 60", "tags": ["other"]}),
    }
    yield made
    for job in made.values():
        neuro.kill(job.id, wait=False)


@pytest.fixture
def lists() -> Iterator[list[JobList]]:
    made: list[JobList] = []
    yield made
    for job_list in made:
        job_list.close()


def ids(job_list: JobList) -> list[str]:
    return [job.id for job in job_list.jobs]


async def test_the_filters_are_ps_filters(
    api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    done, live = jobs["done"].id, jobs["live"].id
    job_list = JobList(config=api_config, tag=[tag], refresh=0.2)
    lists.append(job_list)
    await wait_for(lambda: ids(job_list) == [live])  # live jobs by default, as ps
    await wait_for(lambda: live in job_list.table.cells)
    assert live in job_list.table.row_text(live) and "<you>" in job_list.table.row_text(live)
    # The status filter is one compact choice, not a list box.
    assert isinstance(job_list.status_filter, widgets.Dropdown)
    assert job_list.status_filter.label == LIVE

    job_list.status_filter.label = ALL
    await wait_for(lambda: ids(job_list) == [live, done])  # newest first

    job_list.status_filter.value = ("succeeded",)
    await wait_for(lambda: ids(job_list) == [done])

    job_list.status_filter.value = ("running",)
    job_list.text_filters["tag"].value = f"{tag} x"  # every tag must match
    await wait_for(lambda: ids(job_list) == [live])

    job_list.text_filters["tag"].value = ""
    job_list.text_filters["name"].value = "done-one"
    job_list.status_filter.label = ALL
    await wait_for(lambda: ids(job_list) == [done])

    job_list.text_filters["owner"].value = "ME"
    job_list.text_filters["since"].value = "1h"
    await wait_for(lambda: job_list.filters.owner not in ((), ("ME",)))
    await wait_for(lambda: ids(job_list) == [done])
    job_list.text_filters["owner"].value = "somebody-else"
    await wait_for(lambda: ids(job_list) == [])


async def test_a_bad_filter_shows_the_apis_message_beside_it(
    api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    job_list = JobList(config=api_config, tag=[tag], refresh=0.2)
    lists.append(job_list)
    await wait_for(lambda: len(job_list.jobs) == 1)

    job_list.text_filters["since"].value = "last tuesday"
    await wait_for(lambda: "last tuesday" in job_list.filter_errors["since"].value)
    assert job_list.message.value == ""
    assert [k for k, label in job_list.filter_errors.items() if label.value] == ["since"]

    job_list.text_filters["since"].value = ""
    await wait_for(lambda: job_list.filter_errors["since"].value == "")


async def test_several_statuses_given_are_one_choice(
    api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    job_list = JobList(config=api_config, tag=[tag], status=["succeeded", "running"])
    lists.append(job_list)
    assert job_list.status_filter.label == "succeeded, running"
    await wait_for(lambda: ids(job_list) == [jobs["live"].id, jobs["done"].id])


async def test_a_clicked_row_opens_its_job_in_a_monitor_below(
    api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    live, done = jobs["live"].id, jobs["done"].id
    job_list = JobList(config=api_config, tag=[tag], all=True, refresh=0.2, monitor={"poll": 0.1})
    lists.append(job_list)
    await wait_for(lambda: {live, done} <= set(job_list.table.cells))

    # Any cell of a row but the URL opens that row's job.
    job_list.table.row_button(done).click()
    first = job_list.monitor
    assert isinstance(first, JobMonitor) and job_list.monitor_box.children == (first,)
    await wait_for(lambda: first.status == "succeeded")

    last_cell = [w for w in job_list.table.cells[live] if isinstance(w, widgets.Button)][-1]
    last_cell.click()
    monitor = job_list.monitor
    assert isinstance(monitor, JobMonitor) and job_list.monitor_box.children == (monitor,)
    await wait_for(lambda: monitor.status == "running")
    monitor.kill_button.click()
    await wait_for(lambda: monitor.status == "cancelled")
    # The list sees it end too.
    await wait_for(lambda: {j.id: j.status for j in job_list.jobs}.get(live) == "cancelled")

    job_list.close()
    await wait_for(lambda: not job_list.following and not monitor.following)
    assert first.done


async def test_a_new_job_is_pushed_to_the_list(
    neuro: NeuroClient, api_config: ApiConfig, tag: str, lists: list[JobList]
) -> None:
    # A poll once an hour: only GET events can bring the new job in.
    job_list = JobList(config=api_config, tag=[tag], all=True, refresh=3600)
    lists.append(job_list)
    await wait_for(lambda: "loading" not in job_list.table_note.value)
    job = neuro.run({"image": "ubuntu", "command": "true", "tags": [tag]})
    await wait_for(lambda: job.id in ids(job_list), timeout=30)
    await wait_for(lambda: job_list.jobs[0].status == "succeeded", timeout=30)


async def test_the_table_colours_statuses_spaces_columns_and_shows_the_url(
    neuro: NeuroClient, api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    job_list = JobList(config=api_config, tag=[tag], all=True, refresh=0.2)
    lists.append(job_list)
    await wait_for(lambda: len(job_list.table.cells) == 2)
    rows = job_list.table
    titles = rows.titles
    assert titles[-1] == "HTTP URL" and "STATUS" in titles
    # One grid: every row has a cell per column, so the columns line up.
    assert rows.layout.grid_template_columns.split() == ["max-content"] * len(titles)
    assert len(rows.children) == len(titles) * 3
    status = titles.index("STATUS")
    done_cell = rows.cells[jobs["done"].id][status]
    assert done_cell.description == "succeeded"
    assert done_cell.style.text_color == STATUS_COLORS["succeeded"]
    assert rows.cells[jobs["live"].id][status].style.text_color == STATUS_COLORS["running"]


async def test_the_url_column_is_a_link(
    neuro: NeuroClient, api_config: ApiConfig, tag: str, lists: list[JobList]
) -> None:
    port = free_port()
    web = neuro.run({
        "image": "ubuntu", "tags": [tag], "http": {"port": port},
        "command": f"{sys.executable} -m http.server {port} --bind 127.0.0.1",
    })  # fmt: skip
    try:
        job_list = JobList(config=api_config, tag=[tag], refresh=0.2)
        lists.append(job_list)
        await wait_for(lambda: web.id in job_list.table.cells)
        url_cell = job_list.table.cells[web.id][-1]
        assert isinstance(url_cell, widgets.HTML)
        await wait_for(lambda: "<a href=" in url_cell.value and 'target="_blank"' in url_cell.value)
    finally:
        neuro.kill(web.id, wait=False)
