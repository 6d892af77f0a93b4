"""A job learns where it is published: NEURO_JOB_HTTP_URL and NEURO_JOB_HTTP_PREFIX (DESIGN.md §4).

Real jobs print their environment; the proxy then serves one at that prefix.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from traitlets.config import Config

from tests.conftest import Api
from tests.server.test_api import finished, job_when
from tests.server.test_proxy import (  # noqa: F401  (fixtures)
    APP,
    Fetch,
    fetch,
    free_port,
    port_open,
    seen,
)
from tests.utils import wait_for

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def public_url() -> str:
    """``c.NeuroJobs.public_url`` (empty: the server's own URL)."""
    return ""


@pytest.fixture
def jp_server_config(jp_server_config: Config, public_url: str) -> Config:
    if public_url:
        jp_server_config.NeuroJobs.public_url = public_url
    return jp_server_config


async def env_of(api: Api, spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Run ``env`` as a job; the finished job and the environment it printed."""
    _, job = await api("POST", "jobs", {"image": "ubuntu", "command": "env", **spec})
    job = await job_when(api, job["id"], finished)
    _, logs = await api("GET", f"jobs/{job['id']}/logs", raw=True)
    return job, dict(line.split("=", 1) for line in logs.decode().splitlines() if "=" in line)


async def test_a_job_gets_its_prefix_and_url_and_the_spec_cannot_change_them(
    api: Api, jp_serverapp: Any, jp_base_url: str
) -> None:
    forged = {"NEURO_JOB_HTTP_URL": "http://evil.example/", "NEURO_JOB_HTTP_PREFIX": "/evil"}
    job, env = await env_of(api, {"name": "envy", "http": {"port": 8080}, "env": forged})
    prefix = f"{jp_base_url}neuro/jobs/envy--alice"
    assert env["NEURO_JOB_HTTP_PREFIX"] == prefix
    assert env["NEURO_JOB_HTTP_URL"] == f"{jp_serverapp.connection_url}neuro/jobs/envy--alice/"
    assert env["NEURO_JOB_HTTP_URL"].endswith(prefix + "/")
    assert job["http_url"].endswith(prefix + "/")  # the API: as this request reached the server


async def test_an_unnamed_job_is_published_under_its_id(
    api: Api, jp_serverapp: Any, jp_base_url: str
) -> None:
    job, env = await env_of(api, {"http": {"port": 8080}})
    assert env["NEURO_JOB_HTTP_PREFIX"] == f"{jp_base_url}neuro/jobs/{job['id']}"
    assert env["NEURO_JOB_HTTP_URL"] == f"{jp_serverapp.connection_url}neuro/jobs/{job['id']}/"


async def test_a_job_without_an_http_port_has_neither(api: Api) -> None:
    forged = {"NEURO_JOB_HTTP_URL": "http://evil.example/", "NEURO_JOB_HTTP_PREFIX": "/evil"}
    job, env = await env_of(api, {"env": forged})
    assert job["http_url"] is None
    assert "NEURO_JOB_HTTP_URL" not in env and "NEURO_JOB_HTTP_PREFIX" not in env


@pytest.mark.parametrize("public_url", ["https://jupyter.example.com/user/alice"])
async def test_the_public_url_setting_is_what_jobs_are_told(
    api: Api, jp_base_url: str, public_url: str
) -> None:
    _, env = await env_of(api, {"name": "envy", "http": {"port": 8080}})
    assert env["NEURO_JOB_HTTP_URL"] == f"{public_url}/neuro/jobs/envy--alice/"
    assert env["NEURO_JOB_HTTP_PREFIX"] == f"{jp_base_url}neuro/jobs/envy--alice"


async def test_a_keep_prefix_job_serves_under_the_prefix_it_was_told(
    api: Api,
    fetch: Fetch,  # noqa: F811
) -> None:
    # As the README shows: the command is words, so a shell expands the variable.
    port = free_port()
    script = f'echo "PREFIX=$NEURO_JOB_HTTP_PREFIX"; exec {sys.executable} {APP} --port {port}'
    spec = {
        "image": "python",
        "name": "kept",
        "command": ["sh", "-c", script],
        "http": {"port": port, "keep_prefix": True},
    }
    status, body = await api("POST", "jobs", spec)
    assert status == 201, body
    await job_when(api, "kept", lambda j: j["status"] == "running")
    await wait_for(lambda: port_open(port), timeout=20)
    _, logs = await api("GET", "jobs/kept/logs", raw=True)
    prefix = logs.decode().split("PREFIX=", 1)[1].splitlines()[0]
    assert prefix.endswith("/neuro/jobs/kept--alice")
    kept = seen(await fetch("kept--alice/app/page?x=1", headers={"X-Forwarded-Prefix": "/x"}))
    assert kept["uri"] == f"{prefix}/app/page?x=1"
    # Its paths carry the prefix already: a prefix header would have an app
    # (Werkzeug's ProxyFix(x_prefix=1)) add it twice (issue 11).
    forwarded = {"x-forwarded-prefix", "x-forwarded-context", "x-proxycontextpath"}
    assert not forwarded & kept["header_names"]
