"""A real ``jupyter server`` process with the extension, for tests and benchmarks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

TOKEN = "restart-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RealServer:
    """``jupyter server`` as a separate process, with the extension enabled on install."""

    def __init__(
        self,
        tmp_path: Path,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        base_url: str = "/",
        python: str = sys.executable,
    ) -> None:
        self.data_dir = tmp_path / "neuro"
        self.root_dir = tmp_path / "root"
        self.root_dir.mkdir(exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp_path / "server.log"
        self.extra_args = list(extra_args)
        self.env = dict(env) if env is not None else None
        self.base_url = base_url
        self.python = python

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}neuro/api/v1/"

    def start(self) -> None:
        argv = [
            self.python, "-m", "jupyter_server",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False", f"--ServerApp.root_dir={self.root_dir}",
            f"--NeuroJobs.data_dir={self.data_dir}", "--LocalBackend.poll_interval=0.05",
            f"--ServerApp.base_url={self.base_url}", *self.extra_args,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                self.request("GET", "presets")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise TimeoutError(self.log.read_text())

    def kill_hard(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api + path, data=data, method=method,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw

    def wait_job(self, ref: str, done: Callable[[Any], bool], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.request("GET", f"jobs/{ref}")
            if done(job):
                return job
            time.sleep(0.1)
        raise TimeoutError(f"job {ref}: {job}")
