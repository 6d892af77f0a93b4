"""JobForm against a real server: built from its presets and spec, its errors are the API's."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from neuro_jupyter.client import ApiConfig, NeuroClient
from neuro_jupyter.widgets import JobForm, JobMonitor
from tests.utils import wait_for


@pytest.fixture
def form(api_config: ApiConfig) -> Iterator[JobForm]:
    made = JobForm(config=api_config, monitor={"poll": 0.1, "interval": 0.2})
    yield made
    made.close()


def count_jobs(neuro: NeuroClient) -> int:
    return len(neuro.jobs(all=True))


def test_presets_are_offered_with_their_sizes(form: JobForm) -> None:
    preset = form.inputs["preset"].widget
    assert list(preset.options) == [
        ("cpu-small — 0.5 CPU, 256 MiB, no GPU", "cpu-small"),
        ("cpu-large — 1 CPU, 512 MiB, no GPU", "cpu-large"),
        ("spot — 0.5 CPU, 256 MiB, no GPU, preemptible", "spot"),
    ]
    assert preset.value == "cpu-small"  # the server's default


def test_the_fields_are_the_servers_spec(form: JobForm, neuro: NeuroClient) -> None:
    names = []
    for field in neuro.spec_fields():
        subfields = field.get("fields") or []
        names += [f"{field['name']}.{f['name']}" for f in subfields] or [field["name"]]
    assert list(form.inputs) == names
    assert {"image", "command", "name", "volumes", "env", "http.port", "http.auth",
            "life_span", "tags", "description"} <= set(names)  # fmt: skip
    assert form.inputs["life_span"].widget.value == "1d"
    assert form.inputs["http.auth"].widget.value is True


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "Bad_Name", "job name 'Bad_Name' is invalid"),
        ("http.port", "eighty", "port 'eighty' is invalid"),
        ("volumes", "storage:data", "volume 'storage:data' is invalid"),
        ("env", "A B=x", "env name 'A B' is invalid"),
        ("life_span", "forever", "'forever' is invalid"),
        ("tags", "a" * 300, "is invalid"),
    ],
)
def test_a_bad_field_shows_the_apis_message_beside_it(
    form: JobForm, neuro: NeuroClient, field: str, value: str, words: str
) -> None:
    before = count_jobs(neuro)
    form.inputs["image"].widget.value = "ubuntu"
    form.inputs["command"].widget.value = "true"
    form.inputs[field].widget.value = value

    form.launch_button.click()

    assert list(form.errors) == [field]
    assert words in form.errors[field]
    assert form.inputs[field].error.value.count(words.replace("'", "&#x27;")) == 1
    assert form.monitor is None and form.launch_button in form.children[-1].children
    assert count_jobs(neuro) == before  # nothing was created


def test_errors_are_cleared_by_the_next_launch(form: JobForm) -> None:
    form.launch()
    assert list(form.errors) == ["image"]  # image is required: the API says so
    assert "image is required" in form.errors["image"]
    form.inputs["image"].widget.value = "ubuntu"
    form.inputs["http.port"].widget.value = "70000"
    form.launch()
    assert list(form.errors) == ["http.port"]


def test_a_live_name_is_refused_beside_the_name(form: JobForm, neuro: NeuroClient) -> None:
    neuro.run({"image": "ubuntu", "name": "taken", "command": "sleep 30"})
    form.inputs["image"].widget.value = "ubuntu"
    form.inputs["command"].widget.value = "true"
    form.inputs["name"].widget.value = "taken"
    assert form.launch() is None
    assert list(form.errors) == ["name"]
    assert "taken" in form.errors["name"]
    neuro.kill("taken")


async def test_launch_turns_the_form_into_the_new_jobs_monitor(
    form: JobForm, neuro: NeuroClient
) -> None:
    values = {
        "image": "ubuntu",
        "command": f"{sys.executable} -c \"import os; print('hello', os.environ['WHO'])\"",
        "preset": "spot",
        "name": "from-form",
        "tags": "demo widgets",
        "description": "made by JobForm",
        "env": "WHO=widgets\nMORE=yes",
        "life_span": "2h",
        "http.port": "8080",
        "http.auth": False,
    }
    for field, value in values.items():
        form.inputs[field].widget.value = value

    form.launch_button.click()

    monitor = form.monitor
    assert isinstance(monitor, JobMonitor) and form.children == (monitor,)
    assert form.errors == {} and form.job is not None
    job = neuro.job(form.job.id)
    assert (job.name, job.preset, job.tags, job.description) == (
        "from-form", "spot", ("demo", "widgets"), "made by JobForm"
    )  # fmt: skip
    assert dict(job.env) == {"WHO": "widgets", "MORE": "yes"}
    assert (job.life_span, job.http_port, job.http_auth) == (7200, 8080, False)
    await wait_for(lambda: monitor.done)
    assert monitor.status == "succeeded" and monitor.log_text == "hello widgets\n"


def test_initial_values_by_field_name(api_config: ApiConfig) -> None:
    form = JobForm(config=api_config, image="ubuntu", http_port=8888, life_span="3h")
    try:
        assert form.spec() == {
            "image": "ubuntu", "preset": "cpu-small", "life_span": "3h", "restart": "never",
            "http": {"port": 8888, "auth": True, "keep_prefix": False},
        }  # fmt: skip
        with pytest.raises(TypeError, match="no field 'colour'"):
            JobForm(config=api_config, colour="red")
    finally:
        form.close()
