"""Fixtures for the local backend: folders under tmp_path, cleanup of every process."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.backends.local.launcher import stop_launcher

from ..utils import Recorder


def kill_leftovers(jobs_dir: Path) -> None:
    """SIGKILL every runner and command a test left behind (by recorded pid)."""
    for path in list(jobs_dir.glob("*/runner.json")) + list(jobs_dir.glob("*/started")):
        data = json.loads(path.read_text())
        try:
            proc = psutil.Process(data["pid"])
            if abs(proc.create_time() - data["create_time"]) < 0.05:
                if path.name == "started":
                    os.killpg(data["pgid"], signal.SIGKILL)
                proc.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[dict[str, str]]:
    """jobs_dir, storage_root and default_workdir under tmp_path."""
    paths = {name: tmp_path / name for name in ("jobs", "storage", "work")}
    for path in paths.values():
        path.mkdir()
    yield {
        "jobs_dir": str(paths["jobs"]),
        "storage_root": str(paths["storage"]),
        "default_workdir": str(paths["work"]),
    }
    kill_leftovers(paths["jobs"])
    stop_launcher(paths["jobs"])  # backends a test did not shut down leave theirs


def make_backend(dirs: dict[str, str], **kwargs: object) -> LocalBackend:
    """A LocalBackend on ``dirs`` with a small, fast configuration."""
    settings: dict[str, object] = {
        "poll_interval": 0.05,
        "kill_grace_period": 2.0,
        "cpus": 4.0,
        "memory": 8 << 30,
        "gpus": 0,
    }
    settings.update(kwargs)
    return LocalBackend(**dirs, **settings)


@pytest.fixture
async def backend(dirs: dict[str, str]) -> AsyncIterator[LocalBackend]:
    """A set-up LocalBackend, shut down after the test."""
    b = make_backend(dirs)
    await b.setup()
    yield b
    await b.shutdown()


@pytest.fixture
async def recorder(backend: LocalBackend) -> AsyncIterator[Recorder]:
    """Records ``backend``'s events."""
    r = Recorder(backend)
    yield r
    await r.close()
