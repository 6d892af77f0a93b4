"""One real ``jupyter server`` process for the widget tests, with small presets.

The widgets are used as a kernel uses them: plain Python objects on this
thread (no front end), talking HTTP to a server in another process, while
their own threads follow the jobs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from neuro_jupyter.client import ApiConfig, NeuroClient
from tests.real_server import TOKEN, RealServer

SERVER_CONFIG = """
c.NeuroJobs.presets = [
    {"name": "cpu-small", "cpu": 0.5, "memory": "256MiB"},
    {"name": "cpu-large", "cpu": 1, "memory": "512MiB"},
    {"name": "spot", "cpu": 0.5, "memory": "256MiB", "preemptible": True},
]
c.LocalBackend.cpus = 8
c.LocalBackend.kill_grace_period = 2.0
"""


@pytest.fixture(scope="package")
def a_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    root = tmp_path_factory.mktemp("widgets")
    config = root / "jupyter_server_config.py"
    config.write_text(SERVER_CONFIG)
    server = RealServer(root, extra_args=[f"--config={config}"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_config(a_server: RealServer) -> ApiConfig:
    return ApiConfig(a_server.api, TOKEN)


@pytest.fixture
def neuro(api_config: ApiConfig) -> Iterator[NeuroClient]:
    with NeuroClient(api_config) as client:
        yield client
