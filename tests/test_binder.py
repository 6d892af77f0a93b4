"""binder/: mybinder.org builds the repository with repo2docker; the demo runs there.

No docker here: repo2docker's ``--no-build`` shows the Dockerfile it would
build, and the same requirements installed into a fresh venv run
examples/demo.ipynb top to bottom on the local backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notebook import ServerKernel, server_kernel
from tests.real_server import RealServer
from tests.widgets.test_demo import check_demo, run_demo

ROOT = Path(__file__).resolve().parents[1]
REPO2DOCKER = Path(sys.executable).parent / "repo2docker"


def test_repo2docker_accepts_the_binder_folder() -> None:
    done = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--debug", str(ROOT)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    dockerfile = done.stdout + done.stderr
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "apt-get install --yes --no-install-recommends bubblewrap" in dockerfile  # apt.txt
    assert "Building conda environment for python=3.11" in dockerfile  # runtime.txt


@pytest.fixture(scope="module")
def binder_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerKernel]:
    """A fresh venv with binder/requirements.txt (as repo2docker installs it), its
    jupyter server, and a kernel of it."""
    root = tmp_path_factory.mktemp("binder")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    runtime = root / "runtime"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    for name in ("NEURO_API_URL", "NEURO_API_TOKEN"):
        env.pop(name, None)
    # The venv's own server, kernels and job runner: nothing of the test's venv.
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    server = RealServer(root, env=env, python=python)
    server.start()
    try:
        with server_kernel(server, runtime) as kernel:
            yield kernel
    finally:
        server.stop()


@pytest.mark.timeout(1200)
def test_the_demo_runs_in_the_binder_environment(binder_kernel: ServerKernel) -> None:
    check_demo(run_demo(binder_kernel))
