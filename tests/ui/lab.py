"""A real ``jupyter lab`` process with neuro-jupyter installed as the README installs it,
and a headless Chromium (Debian's, never a downloaded one) to drive it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tests.real_server import TOKEN, RealServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
LABEXTENSION = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "neuro-jupyter"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The system Chromium: ``$CHROMIUM_PATH``, else ``chromium`` on PATH."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


class LabServer(RealServer):
    """``python -m jupyterlab`` with the same flags as :class:`RealServer`, plus
    a private settings and workspaces folder and ``window.jupyterapp``."""

    def __init__(
        self, tmp_path: Path, extra_args: Sequence[str] = (), base_url: str = "/user/alice/"
    ) -> None:
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
        for name in ("NEURO_API_URL", "NEURO_API_TOKEN"):
            env.pop(name, None)  # kernels find the API through this server alone
        super().__init__(tmp_path, extra_args, env=env, base_url=base_url)
        self.lab_dir = tmp_path / "lab"

    @property
    def url(self) -> str:
        """The server's root URL, base_url included."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def start(self) -> None:
        # No "get notified about Jupyter news?" toast over the screenshots.
        news = self.lab_dir / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        argv = [
            sys.executable, "-m", "jupyterlab",
            "--ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False", f"--ServerApp.root_dir={self.root_dir}",
            f"--ServerApp.base_url={self.base_url}",
            f"--NeuroJobs.data_dir={self.data_dir}", "--LocalBackend.poll_interval=0.05",
            f"--LabApp.user_settings_dir={self.lab_dir / 'settings'}",
            f"--LabApp.workspaces_dir={self.lab_dir / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            *self.extra_args,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        self.wait_ready(60)

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the lab page answers (the API may be off on purpose)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.url}api/status?token={TOKEN}", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise TimeoutError(self.log.read_text())
