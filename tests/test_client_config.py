"""Finding the API (ApiConfig.discover) and the one-sentence errors when it is not there.

The server in this module runs WITHOUT the neuro_jupyter extension.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from neuro_jupyter.client import (
    ApiConfig,
    ApiError,
    AsyncNeuroClient,
    ClientConfigError,
    Forbidden,
    InvalidSpec,
    Job,
    NeuroClient,
    NotFound,
    parse_time,
)
from neuro_jupyter.client.errors import error_for
from tests.conftest import ALICE_TOKEN

API = "neuro/api/v1/"
NOT_ENABLED = "`jupyter server extension enable neuro_jupyter` and restart Jupyter"


@pytest.fixture
def jp_server_config() -> Config:
    """A plain Jupyter server: the extension is installed but not enabled."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"neuro_jupyter": False}},
            "IdentityProvider": {"token": ALICE_TOKEN},
        }
    )


@pytest.fixture
def a_runtime_dir(tmp_path: Path) -> Path:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    info = {"url": "http://localhost:8899/base/", "base_url": "/base/", "token": "file-token"}
    (runtime / "jpserver-4242.json").write_text(json.dumps(info))
    return runtime


@pytest.fixture
def an_unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def one_sentence(message: str) -> bool:
    return "\n" not in message and "<" not in message and "Traceback" not in message


HUB = {
    "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8888/user/alice/",
    "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
    "JUPYTERHUB_API_TOKEN": "hub-token",
    "JUPYTERHUB_USER": "alice",
}


def test_neuro_api_url_comes_first(a_runtime_dir: Path) -> None:
    environ = {
        "NEURO_API_URL": "http://127.0.0.1:9000/x/neuro/api/v1",
        "NEURO_API_TOKEN": "neuro-token",
        "JPY_PARENT_PID": "4242",
        "JUPYTER_RUNTIME_DIR": str(a_runtime_dir),
        **HUB,
    }
    config = ApiConfig.discover(environ)
    assert config == ApiConfig("http://127.0.0.1:9000/x/neuro/api/v1/", "neuro-token", "alice")
    assert "neuro-token" not in repr(config)


def test_then_the_parent_servers_runtime_file(a_runtime_dir: Path) -> None:
    environ = {"JPY_PARENT_PID": "4242", "JUPYTER_RUNTIME_DIR": str(a_runtime_dir), **HUB}
    config = ApiConfig.discover(environ)
    # The file's url already ends with base_url: it is not added twice.
    assert (config.url, config.token) == (f"http://localhost:8899/base/{API}", "file-token")


def test_runtime_dir_defaults_to_jupyters_own(
    a_runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(a_runtime_dir))
    config = ApiConfig.discover({"JPY_PARENT_PID": "4242"})
    assert config.url == f"http://localhost:8899/base/{API}"


def test_an_empty_token_in_the_runtime_file_is_none(tmp_path: Path) -> None:
    info = {"url": "http://127.0.0.1:8888/", "base_url": "/", "token": ""}
    (tmp_path / "jpserver-7.json").write_text(json.dumps(info))
    config = ApiConfig.discover({"JPY_PARENT_PID": "7", "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    assert config == ApiConfig(f"http://127.0.0.1:8888/{API}", None)


def test_a_missing_runtime_file_falls_through_to_the_hub(tmp_path: Path) -> None:
    environ = {"JPY_PARENT_PID": "99", "JUPYTER_RUNTIME_DIR": str(tmp_path), **HUB}
    config = ApiConfig.discover(environ)
    assert config == ApiConfig(f"http://127.0.0.1:8888/user/alice/{API}", "hub-token", "alice")


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({"JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8890/user/bob"}, "http://127.0.0.1:8890/user/bob/"),
        ({"JUPYTERHUB_SERVICE_URL": "http://10.0.0.5:8890/user/bob/"}, "http://10.0.0.5:8890/user/bob/"),
        ({"JUPYTERHUB_SERVICE_URL": "http://[::]:8890/user/bob/"}, "http://[::1]:8890/user/bob/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/bob/"}, "http://127.0.0.1:8888/user/bob/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "user/bob"}, "http://127.0.0.1:8888/user/bob/"),
    ],
)  # fmt: skip
def test_hub_environment(environ: dict[str, str], url: str) -> None:
    config = ApiConfig.discover({**environ, "JPY_API_TOKEN": "old-hub-token"})
    assert config == ApiConfig(url + API, "old-hub-token")


def test_nothing_found_says_what_to_do_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClientConfigError) as missing:
        ApiConfig.discover({"JPY_PARENT_PID": "not-a-pid"})
    assert "NEURO_API_URL" in missing.value.message and one_sentence(missing.value.message)
    for name in ("NEURO_API_URL", "JPY_PARENT_PID", *HUB, "JPY_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ClientConfigError, match="NEURO_API_URL"):
        NeuroClient()  # no config: discovered from os.environ


async def test_a_server_without_the_extension_says_how_to_enable_it(
    jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str
) -> None:
    root = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    config = ApiConfig(root + API, ALICE_TOKEN)
    async with AsyncNeuroClient(config) as neuro:
        for call in (neuro.presets(), neuro.job("x"), neuro.exec("x", ["true"])):
            with pytest.raises(ClientConfigError) as off:
                await call
            assert off.value.message == (
                f"the neuro_jupyter server extension is not enabled on {root}: run {NOT_ENABLED}"
            )

    def sync_calls() -> list[str]:
        messages = []
        with NeuroClient(config) as neuro:
            for call in (
                neuro.presets,
                lambda: list(neuro.logs("x")),
                lambda: neuro.exec("x", ["true"]),
            ):
                try:
                    call()
                except ClientConfigError as exc:
                    messages.append(exc.message)
        return messages

    messages = await asyncio.to_thread(sync_calls)
    assert len(messages) == 3 and all(NOT_ENABLED in m and one_sentence(m) for m in messages)


async def test_no_server_at_the_address_is_one_sentence(an_unused_port: int) -> None:
    root = f"http://127.0.0.1:{an_unused_port}/base/"
    config = ApiConfig(root + API, "t")
    expected = f"no Jupyter server answers at {root}: start Jupyter"
    async with AsyncNeuroClient(config, timeout=5) as neuro:
        for call in (neuro.presets(), neuro.exec("x", ["true"])):
            with pytest.raises(ClientConfigError, match=expected) as refused:
                await call
            assert one_sentence(refused.value.message)
    with NeuroClient(config, timeout=5) as sync_neuro:
        with pytest.raises(ClientConfigError, match=expected):
            sync_neuro.job("x")
        with pytest.raises(ClientConfigError, match=expected):
            list(sync_neuro.top("x"))
        with pytest.raises(ClientConfigError, match=expected):
            sync_neuro.exec("x", ["true"])


@pytest.mark.parametrize(
    ("status", "content_type", "body", "kind"),
    [
        (400, "application/json", {"error": "bad name", "field": "name"}, InvalidSpec),
        (403, "application/json", {"error": "needs write", "field": None}, Forbidden),
        (404, "application/json", {"error": "job x not found", "field": None}, NotFound),
        (502, "text/html", "<html><body>Bad Gateway</body></html>", ApiError),
        (500, "application/json", {"error": "Internal Server Error", "field": None}, ApiError),
        (404, "text/html", "<html>404</html>", ClientConfigError),
    ],
)
def test_error_answers_map_to_typed_errors_without_bodies(
    status: int, content_type: str, body: Any, kind: type[Exception]
) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    error = error_for(status, content_type, raw, f"http://h:1/b/{API}")
    assert type(error) is kind
    assert one_sentence(str(error)) and "html" not in str(error).lower()
    if isinstance(error, InvalidSpec):
        assert (error.field, error.rule) == ("name", "bad name")
    if isinstance(error, ApiError):
        assert error.status == status


def test_a_400_without_a_field_names_the_request() -> None:
    error = error_for(400, "application/json", b'{"error": "no"}', f"http://h/{API}")
    assert isinstance(error, InvalidSpec) and error.field == "request"


RECORD: dict[str, Any] = {
    "id": "job-0b6e3c3e-3c2f-4b8e-9a59-3f1d2c7a9f10", "name": "train", "owner": "alice",
    "cluster": "local", "image": "ubuntu", "command": "python train.py", "preset": "gpu",
    "tags": ["a"], "description": "", "volumes": ["storage:data:/data:ro"],
    "env": {"A": "1"}, "workdir": None, "http": {"port": 8080, "auth": False},
    "life_span": 86400, "restart": "never", "status": "failed", "reason": "OOMKilled",
    "status_description": "", "exit_code": 137, "created_at": "2024-05-01T10:00:00Z",
    "started_at": "2024-05-01T10:00:01.500000Z", "finished_at": "2024-05-01T11:00:00Z",
    "run_time_seconds": 3598.5, "http_url": "http://h/neuro/jobs/train--alice/",
    "resources": {"name": "gpu", "cpu": 4, "memory": 16 * 10**9, "gpu": 1},
    "runtime": "local",
    "history": [
        {"status": "pending", "reason": "Creating", "description": "",
         "at": "2024-05-01T10:00:00Z", "exit_code": None},
        {"status": "failed", "reason": "OOMKilled", "description": "",
         "at": "2024-05-01T11:00:00Z", "exit_code": 137},
    ],
}  # fmt: skip


def test_job_from_json_parses_times_resources_and_history() -> None:
    job = Job.from_json(RECORD)
    assert job.created_at == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert job.started_at == datetime(2024, 5, 1, 10, 0, 1, 500000, tzinfo=timezone.utc)
    assert (job.http_port, job.http_auth, job.life_span) == (8080, False, 86400)
    assert (job.resources.gpu, job.resources.memory, job.resources.cpu) == (1, 16 * 10**9, 4.0)
    assert [h.reason for h in job.history] == ["Creating", "OOMKilled"]
    assert job.history[1].exit_code == 137 and job.is_finished
    assert job.raw["command"] == "python train.py" and job.env == {"A": "1"}
    assert parse_time("2024-05-01T10:00:00+02:00").utcoffset() is not None


def test_a_job_shows_itself_through_the_renderers() -> None:
    job = Job.from_json(RECORD)
    printed: list[str] = []

    class Printer:
        def text(self, value: str) -> None:
            printed.append(value)

    job._repr_pretty_(Printer(), False)
    assert "train" in printed[0] and "train" in job._repr_html_()
