"""Pod names, labels and annotations (kubernetes/metadata.py)."""

from __future__ import annotations

import pytest
from hypothesis import given

from neuro_jupyter.backends.kubernetes.metadata import (
    MANAGED_SELECTOR,
    job_id_of,
    label_value,
    owner_selector,
    pod_annotations,
    pod_labels,
    pod_name,
)
from neuro_jupyter.backends.kubernetes.names import is_valid_label_value
from neuro_jupyter.jobs.model import HttpSpec, Job, JobSpec, Preset

from ...jobs.strategies import users

PRESET = Preset("cpu-small", 1, 2**30)


def test_the_pod_is_named_by_the_job_id() -> None:
    job = Job.create("alice", JobSpec(image="python"), PRESET)
    assert pod_name(job.id) == job.id
    with pytest.raises(ValueError, match="cannot name a pod"):
        pod_name("Job_1")


def test_label_values_stay_as_they_are_when_valid() -> None:
    assert label_value("alice") == "alice"
    assert label_value("Alice.B_c-1") == "Alice.B_c-1"


def test_unsafe_label_values_are_cleaned_and_hashed() -> None:
    value = label_value("alice@example.com")
    assert value.startswith("alice-example.com-")
    assert len(value) == len("alice-example.com-") + 8
    assert label_value("@@@") != label_value("###")  # all-unsafe names stay apart
    long = label_value("u" * 300)
    assert len(long) <= 63 and is_valid_label_value(long)


@given(users)
def test_every_user_name_makes_a_label_value(owner: str) -> None:
    value = label_value(owner)
    assert is_valid_label_value(value)
    assert value == owner or value != label_value(owner + "x")


def test_labels_and_annotations() -> None:
    spec = JobSpec(image="python", name="train", http=HttpSpec(8888), life_span=3600)
    job = Job.create("alice@example.com", spec, PRESET, cluster="gke-1")
    assert pod_labels(job) == {
        "app.kubernetes.io/managed-by": "neuro-jupyter",
        "neuro-jupyter/job-id": job.id,
        "neuro-jupyter/owner": label_value("alice@example.com"),
        "neuro-jupyter/name": "train",
    }
    assert pod_annotations(job) == {
        "neuro-jupyter/job-id": job.id,
        "neuro-jupyter/owner": "alice@example.com",
        "neuro-jupyter/name": "train",
        "neuro-jupyter/cluster": "gke-1",
        "neuro-jupyter/preset": "cpu-small",
        "neuro-jupyter/http-port": "8888",
        "neuro-jupyter/life-span": "3600",
    }


def test_an_unnamed_job_has_no_name_label() -> None:
    job = Job.create("bob", JobSpec(image="python"), PRESET)
    assert "neuro-jupyter/name" not in pod_labels(job)
    assert "neuro-jupyter/name" not in pod_annotations(job)
    assert "neuro-jupyter/http-port" not in pod_annotations(job)


def test_a_pod_leads_back_to_its_job() -> None:
    job = Job.create("bob", JobSpec(image="python"), PRESET)
    pod = {"metadata": {"labels": pod_labels(job), "annotations": pod_annotations(job)}}
    assert job_id_of(pod) == job.id
    foreign = {"metadata": {"labels": {}, "annotations": pod_annotations(job)}}
    assert job_id_of(foreign) is None
    assert job_id_of({"metadata": {"labels": pod_labels(job)}}) is None
    assert job_id_of({}) is None


def test_selectors() -> None:
    assert MANAGED_SELECTOR == "app.kubernetes.io/managed-by=neuro-jupyter"
    assert owner_selector("a@b") == f"{MANAGED_SELECTOR},neuro-jupyter/owner={label_value('a@b')}"
