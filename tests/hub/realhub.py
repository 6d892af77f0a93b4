"""A real JupyterHub for tests and benchmarks: configurable-http-proxy, the jobs
service as a managed service, users' servers as real ``jupyterhub-singleuser``
processes with the extension (SimpleLocalProcessSpawner).

Users alice, bob and carol (alice and bob in group ``ml``) log in with one
shared password; ``test-admin`` is a service whose token drives the hub's API.
Every user holds the jobs service's access scope, so carol reaches the
service and sees only what is shared with her.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.real_server import free_port

PASSWORD = "hub-test-password"
ADMIN_PASSWORD = "hub-test-admin-password-0123456789abcdef"  # admins have their own (≥ 32)
ADMINS = ("carol",)
ADMIN_TOKEN = "neuro-test-admin-token-0123456789"
USERS = ("alice", "bob", "carol")
SERVICE = "neuro"
VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
import os
env = os.environ
c.JupyterHub.bind_url = env["HUB_PUBLIC_URL"]
c.JupyterHub.hub_bind_url = env["HUB_API_BIND"]
c.ConfigurableHTTPProxy.api_url = env["HUB_CHP_API"]
c.ConfigurableHTTPProxy.command = [env["HUB_CHP"]]
c.ConfigurableHTTPProxy.pid_file = env["HUB_DIR"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + env["HUB_DIR"] + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = env["HUB_DIR"] + "/cookie_secret"
c.JupyterHub.pid_file = env["HUB_DIR"] + "/hub.pid"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env["HUB_PASSWORD"]
c.SharedPasswordAuthenticator.admin_password = env["HUB_ADMIN_PASSWORD"]
c.Authenticator.allowed_users = {"alice", "bob", "carol"}
# carol is a hub admin: admins see no one's jobs unless shared.
c.Authenticator.admin_users = {"carol"}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = env["HUB_DIR"] + "/home/{username}"
c.Spawner.cmd = [env["HUB_VENV_BIN"] + "/jupyterhub-singleuser"]
# The UI tests drive the lab through window.jupyterapp.
c.Spawner.args = ["--allow-root", "--LocalBackend.poll_interval=0.05",
                  "--LabApp.expose_app_in_browser=True"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {"NEURO_JUPYTER_TEST_RUN": env.get("NEURO_JUPYTER_TEST_RUN", "")}
# The server's token reaches the jobs service (the relay acts with it) and may
# read where it is.
c.Spawner.server_token_scopes = [
    "users:activity!user", "access:servers!server",
    "access:services!service=neuro", "read:services!service=neuro",
]
c.JupyterHub.load_groups = {"ml": {"users": ["alice", "bob"]}}
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=neuro",
                                "read:services!service=neuro"]},
    {"name": "test-admin", "services": ["test-admin"],
     "scopes": ["admin:users", "admin:servers", "list:users", "read:users", "admin:groups",
                "access:servers", "tokens", "read:services"]},
]
c.JupyterHub.services = [
    {"name": "neuro", "url": env["HUB_SERVICE_URL"], "oauth_no_confirm": True,
     "command": [env["HUB_VENV_BIN"] + "/neuro-jupyter-hub-service",
                 "--NeuroJobs.data_dir=" + env["HUB_DIR"] + "/neuro",
                 "--LocalBackend.poll_interval=0.05",
                 "--HubOAuth.cache_max_age=" + env["HUB_CACHE_MAX_AGE"]],
     "environment": {"NEURO_JUPYTER_TEST_RUN": env.get("NEURO_JUPYTER_TEST_RUN", "")}},
    {"name": "test-admin", "api_token": env["HUB_ADMIN_TOKEN"]},
]
c.JupyterHub.cleanup_servers = True
# A test's own c.NeuroJobs.* (and more), read by the hub and the service alike.
if env.get("HUB_NEURO_CONFIG"):
    exec(compile(open(env["HUB_NEURO_CONFIG"]).read(), env["HUB_NEURO_CONFIG"], "exec"))
    c.JupyterHub.services[0]["command"].append("--config=" + env["HUB_NEURO_CONFIG"])
"""


def chp_command() -> str:
    """configurable-http-proxy as scripts/test installs it (npm), or on PATH."""
    local = REPO / ".cache" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    found = shutil.which("configurable-http-proxy")
    if found is None:
        raise RuntimeError(
            "configurable-http-proxy is missing: npm i --prefix .cache/node "
            "configurable-http-proxy (scripts/test does)"
        )
    return found


class RealHub:
    """``jupyterhub -f CONFIG`` as a separate process, in its own folder."""

    def __init__(
        self,
        folder: Path,
        cache_max_age: int = 1,
        config: Path | None = None,
        neuro_config: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``config``: a config file of ours to run instead of the test one
        (it reads its ports and folder from ``NEURO_HUB_*``); ``neuro_config``:
        more config for the test one, which the jobs service reads too;
        ``env``: more environment for the hub (``KUBECONFIG``)."""
        self.dir = folder
        self.config = config
        self.neuro_config = neuro_config
        self.env = dict(env or {})
        self.public_port = free_port()
        self.hub_port = free_port()
        self.service_port = free_port()
        self.log = folder / "hub.log"
        self.cache_max_age = cache_max_age
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The hub's public URL (through configurable-http-proxy), ``/`` at the end."""
        return f"http://127.0.0.1:{self.public_port}/"

    @property
    def service_url(self) -> str:
        """The jobs service's API through the hub's proxy."""
        return f"{self.url}services/{SERVICE}/api/v1/"

    @property
    def service_direct_url(self) -> str:
        """The jobs service's API on its own port (no proxy)."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE}/api/v1/"

    def start(self, timeout: float = 60) -> None:
        config = self.config or self.dir / "jupyterhub_config.py"
        if self.config is None:
            config.write_text(CONFIG)
        env = dict(os.environ)
        if self.neuro_config:
            (self.dir / "neuro_config.py").write_text(self.neuro_config)
            env["HUB_NEURO_CONFIG"] = str(self.dir / "neuro_config.py")
        env.update(
            HUB_DIR=str(self.dir),
            HUB_PUBLIC_URL=self.url.rstrip("/"),
            HUB_API_BIND=f"http://127.0.0.1:{self.hub_port}",
            HUB_CHP_API=f"http://127.0.0.1:{free_port()}",
            HUB_CHP=chp_command(),
            HUB_PASSWORD=PASSWORD,
            HUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
            HUB_ADMIN_TOKEN=ADMIN_TOKEN,
            HUB_VENV_BIN=str(VENV_BIN),
            HUB_SERVICE_URL=f"http://127.0.0.1:{self.service_port}",
            HUB_CACHE_MAX_AGE=str(self.cache_max_age),
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
            NEURO_HUB_DIR=str(self.dir / "state"),
            NEURO_HUB_URL=self.url.rstrip("/"),
            NEURO_HUB_API_PORT=str(self.hub_port),
            NEURO_HUB_PROXY_API_PORT=str(free_port()),
            NEURO_HUB_SERVICE_PORT=str(self.service_port),
            NEURO_HUB_PASSWORD=PASSWORD,
        )
        env.update(self.env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # A CI shell may ignore SIGINT; the hub's children would inherit that
                # and take 30 s each to stop.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        self.wait_until(lambda: self._answers(f"{self.url}hub/api"), timeout, "the hub")
        self.wait_service(timeout)

    def _answers(self, url: str, status: int = 200) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the hub exited:\n{self.log.read_text()[-5000:]}")
        try:
            return httpx.get(url, timeout=5).status_code == status
        except httpx.HTTPError:
            return False

    def wait_service(self, timeout: float = 60) -> None:
        """Until the jobs service answers through the proxy (403: it asks for a login)."""
        self.wait_until(
            lambda: self._answers(f"{self.service_url}presets", 403), timeout, "the jobs service"
        )

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready:\n{self.log.read_text()[-5000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the hub (it stops its servers, service and proxy), then kill what is left."""
        if self.process is None:
            return
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        family += [p for p in self._listeners() if p not in family]
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for process in family:
            with contextlib.suppress(psutil.Error):
                process.kill()

    def _listeners(self) -> list[psutil.Process]:
        """The service, in case the hub restarted it (its first child is gone then)."""
        return [p for p in [self.service_process()] if p is not None]

    # -- the hub's API ------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """A call to the hub's REST API (``/hub/api/PATH``) as the test admin."""
        return httpx.request(
            method,
            f"{self.url}hub/api/{path}",
            headers={"Authorization": f"token {ADMIN_TOKEN}"},
            json=body,
            timeout=60,
            **kwargs,
        )

    def token(self, user: str, scopes: list[str]) -> str:
        """A new API token of ``user`` with ``scopes``."""
        response = self.admin("POST", f"users/{user}/tokens", {"scopes": scopes})
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def service_token(self, user: str) -> str:
        """A token of ``user`` for the jobs service only."""
        return self.token(user, [f"access:services!service={SERVICE}"])

    def server_token(self, user: str) -> str:
        """A token of ``user`` for their own server (its API, kernels, terminals)."""
        return self.token(user, [f"access:servers!user={user}"])

    def start_server(self, user: str, timeout: float = 90) -> None:
        """Spawn ``user``'s server and wait until it is ready."""
        response = self.admin("POST", f"users/{user}/server")
        assert response.status_code in (201, 202, 400), response.text  # 400: already running
        self.wait_until(lambda: self.server_ready(user), timeout, f"{user}'s server")

    def server_ready(self, user: str) -> bool:
        model = self.admin("GET", f"users/{user}").json()
        server = (model.get("servers") or {}).get("")
        return bool(server and server.get("ready"))

    def stop_server(self, user: str, timeout: float = 60) -> None:
        """Stop ``user``'s server as an admin (or a culler) would."""
        response = self.admin("DELETE", f"users/{user}/server")
        assert response.status_code in (202, 204), response.text
        self.wait_until(lambda: not self._has_server(user), timeout, f"{user}'s server to stop")

    def _has_server(self, user: str) -> bool:
        return bool(self.admin("GET", f"users/{user}").json().get("servers"))

    def server_api(self, user: str) -> str:
        """The neuro API as ``user``'s server relays it (through the hub's proxy)."""
        return f"{self.url}user/{user}/neuro/api/v1/"

    def runtime_dir(self, user: str) -> Path:
        """Where ``user``'s server writes its kernels' connection files."""
        return self.dir / "home" / user / ".local" / "share" / "jupyter" / "runtime"

    def server_direct_api(self, user: str) -> str:
        """The neuro API of ``user``'s server on its own port (no proxy in front)."""
        process = psutil.Process(self.server_pid(user))
        ports = [c.laddr.port for c in process.net_connections("tcp") if c.status == "LISTEN"]
        return f"http://127.0.0.1:{ports[0]}/user/{user}/neuro/api/v1/"

    def server_pid(self, user: str) -> int:
        model = self.admin("GET", f"users/{user}").json()
        pid: int = model["servers"][""]["state"]["pid"]
        return pid

    def service_process(self) -> psutil.Process | None:
        """The jobs service process (the one listening on its port)."""
        for conn in psutil.net_connections("tcp"):
            listening = conn.laddr and conn.laddr.port == self.service_port
            if listening and conn.status == "LISTEN" and conn.pid is not None:
                return psutil.Process(conn.pid)
        return None

    # -- browsers -----------------------------------------------------------

    def login(self, user: str) -> httpx.Client:
        """A browser-like session of ``user``, logged in through the hub's login form."""
        client = httpx.Client(base_url=self.url, follow_redirects=True, timeout=60)
        page = client.get("hub/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        assert xsrf is not None, page.text
        response = client.post(
            "hub/login?next=/hub/home",
            data={"username": user, "password": password_of(user), "_xsrf": xsrf.group(1)},
        )
        assert response.status_code == 200 and "/hub/home" in str(response.url), response.text
        return client


def password_of(user: str) -> str:
    """What ``user`` logs in to the hub with."""
    return ADMIN_PASSWORD if user in ADMINS else PASSWORD


def api(url: str, token: str) -> httpx.Client:
    """A client of a neuro API root with ``token``."""
    return httpx.Client(base_url=url, headers={"Authorization": f"token {token}"}, timeout=60)


def wait_job(
    client: httpx.Client, ref: str, done: Callable[[Mapping[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    """Poll ``jobs/{ref}`` until ``done`` says so."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"jobs/{ref}")
        if response.status_code == 200:
            job = response.json()
            if done(job):
                return job
        time.sleep(0.1)
    raise TimeoutError(f"job {ref}: {json.dumps(job)[:2000]}")
