"""Real JupyterHubs for tests/hub and tests/ui, one of each per session (about 4 s to start):
``hub`` with local-process servers, ``job_hub`` with servers as jobs on presets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hub.realhub import RealHub


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHub]:
    a_hub = RealHub(tmp_path_factory.mktemp("hub"))
    a_hub.start()
    try:
        yield a_hub
    finally:
        a_hub.stop()


NEURO_CONFIG = """
import os

c.NeuroJobs.presets = [
    {"name": "cpu-small", "cpu": 0.25, "memory": "1GiB"},
    {"name": "gpu-one", "cpu": 0.25, "memory": "1GiB", "gpu": 1},
]
c.LocalBackend.gpus = 1  # one GPU, as far as the jobs service knows (none is here)
if "HUB_SERVICE_URL" in os.environ:  # the hub (a managed service gets none of its environment)
    c.JupyterHub.spawner_class = "neuro_jupyter.hub.jobspawner.NeuroJobSpawner"
    url = os.environ["HUB_SERVICE_URL"] + "/services/neuro/api/v1/"
    c.NeuroJobSpawner.jobs_service_url = url
    c.NeuroJobSpawner.home_dir_template = os.environ["HUB_DIR"] + "/home/{username}"
    c.Spawner.start_timeout = 120
"""


@pytest.fixture(scope="session")
def job_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHub]:
    hub = RealHub(tmp_path_factory.mktemp("job-hub"), neuro_config=NEURO_CONFIG)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
