"""Debian's nginx running deploy/ingress/nginx/ as it is, in front of a jupyter server (issue 11).

Only what a machine needs differs from the shipped files: where Jupyter
listens, the port nginx listens on, and where it keeps its cache, pid and
temporary files. The test configuration wraps the shipped http-level file in a
minimal ``nginx.conf``; the snippets go where the shipped file includes them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "ingress" / "nginx"
JUPYTER_HOST = "jupyter.example.com"
JOBS_DOMAIN = "jobs.example.com"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
"""Debian's nginx (in /usr/sbin, off an ordinary user's PATH), if installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Nginx:
    """``nginx`` (master and one worker) serving deploy/ingress/nginx/ on a free port."""

    def __init__(self, root: Path, jupyter_port: int) -> None:
        self.root = root
        self.port = free_port()
        self.jupyter_port = jupyter_port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "error.log"

    def configure(self) -> Path:
        (self.root / "snippets").mkdir(parents=True, exist_ok=True)
        for name in ("neuro-auth.conf", "neuro-job.conf"):
            shutil.copy(DEPLOY / name, self.root / "snippets" / name)
        site = (DEPLOY / "neuro-jupyter.conf").read_text()
        for shipped, here in (
            ("server 127.0.0.1:8888;", f"server 127.0.0.1:{self.jupyter_port};"),
            ("listen 80;", f"listen 127.0.0.1:{self.port};"),
            ("/var/cache/nginx/neuro-auth", str(self.root / "cache")),
        ):
            assert shipped in site, shipped
            site = site.replace(shipped, here)
        (self.root / "neuro-jupyter.conf").write_text(site)
        temp = self.root / "temp"
        temp.mkdir(exist_ok=True)
        # As root, nginx's workers would run as nobody, who cannot read pytest's folders.
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(
            f"{user}\ndaemon off;\nworker_processes 1;\npid {self.root / 'nginx.pid'};\n"
            f"error_log {self.log} warn;\nevents {{ worker_connections 1024; }}\n"
            "http {\n  access_log off;\n"
            + "".join(
                f"  {kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + "  include neuro-jupyter.conf;\n}\n"
        )
        return conf

    def start(self) -> None:
        conf = self.configure()
        assert NGINX is not None
        argv = [NGINX, "-p", str(self.root), "-c", str(conf), "-e", str(self.log)]
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(argv)
        deadline = time.monotonic() + 20
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.05)

    def workers(self) -> list[psutil.Process]:
        """The worker processes (not the cache manager and loader)."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children()
        return [c for c in children if "worker" in " ".join(c.cmdline())]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
