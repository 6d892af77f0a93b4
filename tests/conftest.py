"""Fixtures: a real jupyter server with the extension, two users, small presets."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPResponse
from traitlets import Dict
from traitlets.config import Config

from tests.openapi_check import OpenAPIChecker

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.hub.fixtures"]

# Jobs outlive the servers that start them (by design), so the tests end their
# own: every job of this run inherits this mark through its server's
# environment, and each module's teardown kills what still carries it.
TEST_RUN = f"neuro-test-{uuid.uuid4().hex}"
os.environ["NEURO_JUPYTER_TEST_RUN"] = TEST_RUN


@pytest.fixture(autouse=True, scope="module")
def no_job_outlives_its_module() -> Iterator[None]:
    yield
    for process in psutil.process_iter():
        try:
            environ = process.environ()
            if environ.get("NEURO_JUPYTER_TEST_RUN") == TEST_RUN and "NEURO_JOB_ID" in environ:
                process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass


ALICE_TOKEN = "alice-secret-token"
BOB_TOKEN = "bob-secret-token"


class TwoUsersIdentityProvider(IdentityProvider):  # type: ignore[misc]
    """Test identity provider: each token is one user (alice, bob)."""

    users = Dict(config=True, help="token -> user name")

    def get_user(self, handler: Any) -> User | None:
        auth = handler.request.headers.get("Authorization", "")
        token = auth[len("token ") :] if auth.startswith("token ") else ""
        name = self.users.get(token)
        if not name:
            return None
        # As jupyter_server's own token login: token requests skip the XSRF check.
        handler._token_authenticated = True
        return User(username=name)


@pytest.fixture
async def jp_asyncio_loop() -> asyncio.AbstractEventLoop:
    """pytest-jupyter's loop is pytest-asyncio's: one loop per test for server and test.

    Without this, pytest-jupyter builds the server on a loop of its own while
    pytest-asyncio runs the test body on another, and requests never finish.
    """
    return asyncio.get_running_loop()


@pytest.fixture
def neuro_dir(tmp_path: Path) -> Path:
    """Where the extension keeps its registry, job folders and storage."""
    return tmp_path / "neuro"


@pytest.fixture
def jp_server_config(neuro_dir: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"neuro_jupyter": True},
                "identity_provider_class": TwoUsersIdentityProvider,
            },
            "IdentityProvider": {"token": ALICE_TOKEN},
            "TwoUsersIdentityProvider": {
                "token": ALICE_TOKEN,
                "users": {ALICE_TOKEN: "alice", BOB_TOKEN: "bob"},
            },
            "NeuroJobs": {
                "data_dir": str(neuro_dir),
                "life_span_check_interval": 0.2,
                "presets": [
                    {"name": "cpu-small", "cpu": 1, "memory": "512MB"},
                    {"name": "cpu-large", "cpu": 2, "memory": "1GB"},
                    {"name": "mem-tiny", "cpu": 0.1, "memory": "64MB"},
                ],
            },
            "LocalBackend": {"cpus": 2, "poll_interval": 0.05, "kill_grace_period": 2.0},
        }
    )


Api = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def openapi_checker() -> OpenAPIChecker:
    return OpenAPIChecker()


@pytest.fixture
def api(jp_fetch: Any, jp_base_url: str, openapi_checker: OpenAPIChecker) -> Api:
    """Call the REST API as a user; every answer is checked against openapi.yaml.
    The body parsed, or ``raw`` bytes, or with ``whole`` the response itself."""

    async def call(
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str = "alice",
        params: dict[str, Any] | None = None,
        raw: bool = False,
        headers: dict[str, str] | None = None,
        whole: bool = False,
    ) -> tuple[int, Any]:
        token = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}.get(user, user)
        kwargs: dict[str, Any] = {
            "method": method,
            "headers": {"Authorization": f"token {token}"},
            "raise_error": False,
        }
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs["headers"]["Content-Type"] = "application/json"
        elif method in ("POST", "PUT"):
            kwargs["body"] = b""
        kwargs["headers"].update(headers or {})
        if params:
            kwargs["params"] = params
        parts = ["neuro", "api", "v1", *path.split("/")]
        response: HTTPResponse = await jp_fetch(*parts, **kwargs)
        openapi_checker.check(method, f"{jp_base_url}neuro/api/v1/{path}", response, kwargs)
        if whole:  # the response itself, headers and all
            return response.code, response
        if raw:
            return response.code, response.body
        data = json.loads(response.body) if response.body else None
        return response.code, data

    return call
