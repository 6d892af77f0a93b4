"""JobList against a real server: ``ps``'s filters, live, and the API's messages beside them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from neuro_jupyter.client import ApiConfig, Job, NeuroClient
from neuro_jupyter.widgets import JobList, JobMonitor
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
    assert live in job_list.table.value and "<table" in job_list.table.value
    assert "&lt;you&gt;" in job_list.table.value

    job_list.all_filter.value = True
    await wait_for(lambda: ids(job_list) == [live, done])  # newest first

    job_list.all_filter.value = False
    job_list.status_filter.value = ("succeeded",)
    await wait_for(lambda: ids(job_list) == [done])

    job_list.status_filter.value = ("succeeded", "running")
    job_list.text_filters["tag"].value = f"{tag} x"  # every tag must match
    await wait_for(lambda: ids(job_list) == [live])

    job_list.text_filters["tag"].value = ""
    job_list.status_filter.value = ()
    job_list.text_filters["name"].value = "done-one"
    job_list.all_filter.value = True
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


async def test_a_picked_job_opens_in_a_monitor_below(
    api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    live = jobs["live"].id
    job_list = JobList(config=api_config, tag=[tag], refresh=0.2, monitor={"poll": 0.1})
    lists.append(job_list)
    await wait_for(lambda: list(job_list.watch.options) != [])
    assert job_list.watch.value == live

    job_list.watch_button.click()

    monitor = job_list.monitor
    assert isinstance(monitor, JobMonitor) and job_list.monitor_box.children == (monitor,)
    await wait_for(lambda: monitor.status == "running")
    monitor.kill_button.click()
    await wait_for(lambda: monitor.status == "cancelled")
    await wait_for(lambda: ids(job_list) == [])  # the list sees it end too

    job_list.close()
    await wait_for(lambda: not job_list.following and not monitor.following)


async def test_a_new_job_is_pushed_to_the_list(
    neuro: NeuroClient, api_config: ApiConfig, tag: str, lists: list[JobList]
) -> None:
    # A poll once an hour: only GET events can bring the new job in.
    job_list = JobList(config=api_config, tag=[tag], all=True, refresh=3600)
    lists.append(job_list)
    await wait_for(lambda: "loading" not in job_list.table.value)
    job = neuro.run({"image": "ubuntu", "command": "true", "tags": [tag]})
    await wait_for(lambda: job.id in ids(job_list), timeout=30)
    await wait_for(lambda: job_list.jobs[0].status == "succeeded", timeout=30)


async def test_the_table_colours_statuses_spaces_columns_and_shows_the_url(
    neuro: NeuroClient, api_config: ApiConfig, jobs: dict[str, Job], tag: str, lists: list[JobList]
) -> None:
    job_list = JobList(config=api_config, tag=[tag], all=True, refresh=0.2)
    lists.append(job_list)
    await wait_for(lambda: len(job_list.jobs) == 2)
    table = job_list.table.value
    assert "<th" in table and "HTTP URL" in table
    assert 'td[data-col="STATUS"][data-value="succeeded"]' in table  # the colour rule
    assert 'data-col="STATUS" data-value="succeeded"' in table  # the cell it colours
    assert "padding" in table
