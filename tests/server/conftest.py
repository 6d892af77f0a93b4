"""Fixtures of the server tests that need a server of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_server import RealServer


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[RealServer]:
    """``jupyter server`` with the extension as a separate process (it can be killed)."""
    server = RealServer(tmp_path)
    server.start()
    yield server
    server.stop()
