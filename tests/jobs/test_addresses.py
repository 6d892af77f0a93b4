"""Where a job's HTTP port is published: path prefix, public URL, host template."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given

from neuro_jupyter.jobs.addresses import HostTemplate, JobAddresses, Visit, job_http_ref
from neuro_jupyter.jobs.model import HttpSpec, Job, JobSpec, Preset

from .strategies import job_names

PRESET = Preset("cpu-small", 1, 2**30)


def a_job(name: str | None = "web", owner: str = "alice", http: bool = True) -> Job:
    spec = JobSpec("python", "serve", name=name, http=HttpSpec(8080) if http else None)
    return Job.create(owner, spec, PRESET)


def test_the_path_form_names_a_named_job_by_name_and_owner_else_by_id() -> None:
    addresses = JobAddresses("https://hub.example.com/user/alice/", "/user/alice/")
    named, unnamed = a_job(), a_job(name=None)
    assert job_http_ref(named) == "web--alice"
    assert addresses.prefix(named) == "/user/alice/neuro/jobs/web--alice"
    assert addresses.url(named) == "https://hub.example.com/user/alice/neuro/jobs/web--alice/"
    assert addresses.prefix(unnamed) == f"/user/alice/neuro/jobs/{unnamed.id}"
    assert addresses.environment(unnamed) == {
        "NEURO_JOB_HTTP_PREFIX": f"/user/alice/neuro/jobs/{unnamed.id}",
        "NEURO_JOB_HTTP_URL": f"https://hub.example.com/user/alice/neuro/jobs/{unnamed.id}/",
    }


def test_the_url_hangs_off_the_root_a_visitor_used_and_owners_are_escaped() -> None:
    addresses = JobAddresses("http://localhost:8888/", "/")
    job = a_job(owner="a@b.c")
    assert addresses.prefix(job) == "/neuro/jobs/web--a%40b.c"
    assert (
        addresses.url(job, "http://127.0.0.1:9/") == "http://127.0.0.1:9/neuro/jobs/web--a%40b.c/"
    )


def test_no_http_port_no_address_and_an_unknown_public_url_gives_the_prefix_only() -> None:
    assert JobAddresses("http://h/").url(a_job(http=False)) is None
    assert JobAddresses("http://h/").environment(a_job(http=False)) == {}
    prefix_only = {"NEURO_JOB_HTTP_PREFIX": "/neuro/jobs/web--alice"}
    assert JobAddresses().environment(a_job()) == prefix_only


def test_a_host_template_gives_named_jobs_an_origin_of_their_own() -> None:
    template = HostTemplate.parse("{name}--{owner}.jobs.example.com")
    addresses = JobAddresses("https://jupyter.example.com/", "/", template)
    job = a_job()
    assert addresses.url(job) == "https://web--alice.jobs.example.com/"
    assert addresses.url(job, "http://127.0.0.1:8888/") == "http://web--alice.jobs.example.com/"
    assert addresses.environment(job) == {
        "NEURO_JOB_HTTP_PREFIX": "",
        "NEURO_JOB_HTTP_URL": "https://web--alice.jobs.example.com/",
    }
    assert template.ref_of("web--alice.jobs.example.com") == "web--alice"
    assert template.ref_of("WEB--alice.jobs.example.com") == "web--alice"
    assert template.ref_of("web--alice.jobs.example.com.evil.org") is None
    assert template.ref_of("web.alice.jobs.example.com") is None
    # What the template cannot name stays on the path form.
    for other in (a_job(name=None), a_job(owner="a@b.c"), a_job(owner="Alice")):
        assert addresses.own_host(other) is None
        assert addresses.url(other) == f"https://jupyter.example.com{addresses.prefix(other)}/"


def test_an_id_template_names_every_job_and_keeps_its_port() -> None:
    template = HostTemplate.parse("{id}.jobs.localhost:8888")
    job = a_job(name=None)
    assert template.host_for(job) == f"{job.id}.jobs.localhost:8888"
    assert template.ref_of(f"{job.id}.jobs.localhost") == job.id
    assert re.fullmatch(template.pattern, f"{job.id}.jobs.localhost")


def test_a_host_label_longer_than_dns_allows_stays_on_the_path_form() -> None:
    template = HostTemplate.parse("{name}--{owner}.jobs.example.com")
    assert template.host_for(a_job(name="x" * 40, owner="o" * 30)) is None


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{name}.jobs.example.com", "{name} and {owner}"),
        ("{user}--{name}.example.com", "unknown placeholder {user}"),
        ("{name}--{owner}-{name}.example.com", "appears twice"),
        ("{name}-{owner}.example.com", "part placeholders"),
        ("{name}{owner}.example.com", "part placeholders"),
        ("{name}--{owner}.Jobs.example.com", "lowercase"),
        ("{name}--{owner}.example.com/x", "lowercase"),
        ("{name!r}--{owner}.example.com", "unknown placeholder"),
        ("{name--{owner}.example.com", "job host template"),
    ],
)
def test_bad_templates_are_refused_naming_the_rule(template: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        HostTemplate.parse(template)


@given(job_names)
def test_a_host_made_for_a_job_routes_back_to_it(name: str) -> None:
    for text in ("{name}--{owner}.jobs.example.com", "{owner}.{name}.example.com:443"):
        template = HostTemplate.parse(text)
        job = a_job(name=name, owner="bob-2")
        host = template.host_for(job)
        if host is None:  # a label over 63 characters
            continue
        assert template.ref_of(host.partition(":")[0]) == f"{name}--bob-2"


def test_a_visit_names_its_job_by_host_first_then_by_path() -> None:
    """Forward-auth reads the job from the original host and path (issue 11)."""
    template = HostTemplate.parse("{name}--{owner}.jobs.example.com")
    addresses = JobAddresses("https://example.com/", "/", host_template=template)
    assert addresses.visit("web--alice.jobs.example.com", "/a/b") == Visit("web--alice", "", "/a/b")
    assert addresses.visit("example.com", "/neuro/jobs/web--alice/a/b") == Visit(
        "web--alice", "/neuro/jobs/web--alice", "/a/b"
    )
    assert addresses.visit("example.com", "/neuro/jobs/web%2Dx") == Visit(
        "web-x", "/neuro/jobs/web%2Dx", "/"
    )
    for path in ("/lab", "/neuro/jobs/", "/neuro/jobsx/web/", "neuro/jobs/web/"):
        assert addresses.visit("example.com", path) is None, path


def test_a_job_gets_the_path_after_the_visitors_prefix_unless_it_keeps_its_own() -> None:
    addresses = JobAddresses("https://example.com/", "/")
    job = a_job()
    by_id = Visit(job.id, f"/neuro/jobs/{job.id}", "/x")
    assert addresses.forwarded(job, by_id) == (f"/neuro/jobs/{job.id}", "")
    kept = dataclasses.replace(
        job, spec=dataclasses.replace(job.spec, http=HttpSpec(8080, keep_prefix=True))
    )
    assert addresses.forwarded(kept, by_id) == ("", "/neuro/jobs/web--alice")
    assert addresses.forwarded(kept, Visit("web--alice", "", "/x")) == ("", "")
