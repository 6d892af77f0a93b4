"""deploy/ingress/nginx/'s second server: jobs on hosts of their own behind nginx (issue 11).

Jupyter serves ``c.NeuroJobs.job_host_template`` hosts; nginx answers them
itself, asking Jupyter (under Jupyter's own host name, so that its login cookie
is read by its name) about the job the Host names. Fixtures as in
``test_auth_nginx.py``.
"""

from __future__ import annotations

import pytest
from traitlets.config import Config

from tests.server.nginx import JOBS_DOMAIN, NGINX
from tests.server.test_auth_nginx import (  # noqa: F401  (fixtures)
    MAX_AGE,
    Get,
    get,
    jp_base_url,
    nginx,
)
from tests.server.test_proxy import Start, seen, start_app  # noqa: F401

pytestmark = [
    pytest.mark.usefixtures("jp_serverapp"),
    pytest.mark.skipif(NGINX is None, reason="scripts/test installs nginx-light"),
]


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    config = Config(jp_server_config)
    config.NeuroJobs.auth_cache_max_age = MAX_AGE
    config.ServerApp.allow_remote_access = True
    config.NeuroJobs.job_host_template = "{name}--{owner}." + JOBS_DOMAIN
    return config


async def test_a_job_host_reaches_its_job_at_the_root_for_those_who_may_open_it(
    start_app: Start,  # noqa: F811
    get: Get,  # noqa: F811
) -> None:
    job = await start_app("web")
    assert job["http_url"] == f"http://web--alice.{JOBS_DOMAIN}/"
    host = {"Host": f"web--alice.{JOBS_DOMAIN}"}
    data = seen(await get("/some/page?x=1", headers=host))
    assert data["uri"] == "/some/page?x=1"  # the whole path, no prefix
    assert data["header"]["x-neuro-user"] == "alice"
    assert not {"x-forwarded-prefix", "authorization"} & data["header_names"]
    assert (await get("/", user="bob", headers=host)).code == 404
    assert (await get("/", user=None, headers=host)).code == 401  # no login page here
    other = {"Host": f"nosuch--alice.{JOBS_DOMAIN}"}
    assert (await get("/", headers=other)).code == 404
