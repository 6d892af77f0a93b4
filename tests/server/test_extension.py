"""The extension as installed: enabled by pip, every route behind Jupyter's login."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from openapi_spec_validator import validate
from tornado.httpclient import HTTPClientError

from neuro_jupyter.server.api import api_handlers, openapi_document

pytestmark = pytest.mark.usefixtures("jp_serverapp")

METHODS = ("get", "post", "put", "delete")


def routes() -> list[tuple[str, str]]:
    """Every (method, path) the API serves, with sample path arguments."""
    found = []
    for pattern, handler in api_handlers():
        path = pattern.replace("(?P<ref>[^/]+)", "some-job").replace("(?P<user>[^/]+)", "bob")
        for method in METHODS:
            if method in vars(handler):
                found.append((method.upper(), path))
    return found


def test_every_route_is_listed() -> None:
    listed = {path for _, path in routes()}
    assert "neuro/api/v1/jobs/some-job/shares/bob" in listed
    assert len(routes()) >= 15


# Forward-auth answers anonymous visitors by design (401 with the login page:
# tests/server/test_auth.py); it is the one route that does.
OPEN_TO_ANONYMOUS = [("GET", "neuro/api/v1/auth")]


@pytest.mark.parametrize(("method", "path"), [r for r in routes() if r not in OPEN_TO_ANONYMOUS])
async def test_anonymous_requests_are_refused_everywhere(
    jp_fetch: Any, method: str, path: str
) -> None:
    body = b"{}" if method in ("POST", "PUT") else None
    response = await jp_fetch(
        *path.split("/"), method=method, body=body, headers={"Authorization": ""},
        raise_error=False,
    )  # fmt: skip
    assert response.code == 403, (method, path, response.body)


async def test_anonymous_websocket_upgrade_is_refused(jp_ws_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch(
            "neuro", "api", "v1", "jobs", "some-job", "exec",
            params={"command": "true"}, headers={"Authorization": ""},
        )  # fmt: skip
    assert refused.value.code == 403


def test_pip_install_enables_the_server_extension() -> None:
    # Outside pytest-jupyter's isolated config paths: what a user would see.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )  # fmt: skip
    lines = (result.stdout + result.stderr).splitlines()
    assert any("neuro_jupyter" in line and "enabled" in line for line in lines), lines
    assert any("neuro_jupyter" in line and "OK" in line for line in lines), lines


def spec_path(pattern: str) -> str:
    """A route pattern as the OpenAPI document writes its path."""
    path = "/" + pattern.removeprefix("neuro/api/v1/")
    return path.replace("(?P<ref>[^/]+)", "{ref}").replace("(?P<user>[^/]+)", "{user}")


def test_openapi_document_names_exactly_the_served_routes() -> None:
    document = openapi_document()
    validate(document)
    assert {spec_path(p) for p, _ in api_handlers()} == set(document["paths"])
    for pattern, handler in api_handlers():
        documented = {m for m in document["paths"][spec_path(pattern)] if m in METHODS}
        assert documented == {m for m in METHODS if m in vars(handler)}, pattern
