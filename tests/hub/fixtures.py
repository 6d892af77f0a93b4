"""One real JupyterHub per test session (about 4 s to start), for tests/hub and tests/ui."""

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
