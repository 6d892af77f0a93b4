"""c.NeuroJobs.gc_freeze_at_start: a started server's objects are out of the
cyclic collector's reach (full collections no longer walk them all)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process starts many more servers


@pytest.mark.parametrize("freeze", [True, False])
async def test_a_started_server_freezes_what_it_made(
    jp_server_config: Config, jp_configurable_serverapp: Any, unfrozen: None, freeze: bool
) -> None:
    config = Config(jp_server_config)
    if not freeze:
        config.NeuroJobs.gc_freeze_at_start = False
    app = jp_configurable_serverapp(config=config)
    assert gc.get_freeze_count() == 0
    # What ServerApp.start does once it listens (pytest-jupyter's server never calls it).
    await app.extension_manager.start_all_extensions()
    assert (gc.get_freeze_count() > 0) is freeze
