"""The jupyter-server extension: the REST API on the server's own auth.

Enabled on install through ``jupyter_server_config.d`` (see
``jupyter-config/``). It builds one :class:`JobService` from
:class:`NeuroJobs` configuration, serves the API, and exports
``NEURO_API_URL``/``NEURO_API_TOKEN`` so kernels and terminals started by
this server reach the API with no configuration. Under a JupyterHub with a
jobs service it builds no service: it relays to the hub's
(:mod:`neuro_jupyter.hub.relay`).
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.extension.application import ExtensionApp
from traitlets import Instance

from ..config import NeuroJobs
from ..jobs.addresses import JOBS_PATH
from ..service import JobService
from .api import API_PREFIX, api_handlers
from .auth import AUTH_MAX_AGE_KEY
from .base import API_PATH_KEY, KEEPALIVE_KEY, SERVICE_KEY, SINGLE_USER_KEY
from .proxy import PROXY_CLIENT_KEY, PROXY_TIMEOUT_KEY, make_proxy_client, proxy_handlers
from .proxy_host import add_host_routes

__all__ = ["NeuroJobsApp", "api_url"]


def api_url(serverapp: Any, api_path: str = API_PREFIX) -> str:
    """The API root as processes on this machine reach it."""
    ip = serverapp.ip
    if ip in ("", "0.0.0.0", "*", "localhost"):
        host = "127.0.0.1"
    elif ip in ("::", "[::]"):
        host = "[::1]"
    else:
        host = f"[{ip}]" if ":" in ip and not ip.startswith("[") else ip
    scheme = "https" if serverapp.certfile else "http"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}{api_path}/"


def cli_command() -> str:
    """How a terminal runs this environment's ``neuro-jupyter``: a login
    shell's PATH is the system's, which may not hold it (the Lab's Shell
    button runs ``${NEURO_JUPYTER_COMMAND:-neuro-jupyter} exec -t JOB``)."""
    script = Path(sys.executable).parent / "neuro-jupyter"
    if script.exists():
        return str(script)
    return f"{sys.executable} -m neuro_jupyter.cli"


class NeuroJobsApp(ExtensionApp):
    """Neu.ro-style jobs: REST API under ``{base_url}neuro/api/v1/``, jobs' HTTP
    ports under ``{base_url}neuro/jobs/{ref}/``."""

    name = "neuro_jupyter"
    load_other_extensions = True

    api_path = API_PREFIX
    """Where the REST API is served, relative to ``base_url``."""
    jobs_path = JOBS_PATH
    """Where jobs' HTTP ports are served by path, relative to ``base_url``."""

    neuro = Instance(NeuroJobs, allow_none=True)
    service = Instance(JobService, allow_none=True)

    relay = Instance(
        "neuro_jupyter.hub.relay.JobsService",
        allow_none=True,
        help="The hub's jobs service this server relays to (and then runs no jobs itself).",
    )

    relays = True
    """Whether this server may relay to a hub's jobs service (not the service itself)."""

    def initialize_settings(self) -> None:
        """Build the service (or find the hub's) and export the API's address to child processes."""
        assert self.serverapp is not None
        self.neuro = NeuroJobs(parent=self)
        self.settings[API_PATH_KEY] = self.api_path
        if self.relays and self._find_relay():
            self._export_environment()
            return
        self.service = self.neuro.make_service(
            jobs_dir=os.path.join(self.neuro.data_dir, "jobs"),
            storage_root=self.neuro.storage_root,
            default_workdir=self.serverapp.root_dir,
        )
        self.settings[SERVICE_KEY] = self.service
        if self.neuro.thread_switch_interval > 0:
            # The event loop shares the GIL with the service's worker threads.
            sys.setswitchinterval(self.neuro.thread_switch_interval)
        self.settings[SINGLE_USER_KEY] = self._single_user()
        self.settings[PROXY_CLIENT_KEY] = make_proxy_client()
        self.settings[PROXY_TIMEOUT_KEY] = self.neuro.proxy_timeout
        self.settings[KEEPALIVE_KEY] = self.neuro.stream_keepalive
        self.settings[AUTH_MAX_AGE_KEY] = self.neuro.auth_cache_max_age
        self._export_environment()
        self._publish()

    def _find_relay(self) -> bool:
        """Under a JupyterHub with a jobs service: relay to it (and run no jobs here)."""
        from ..hub.relay import RELAY_KEY, find_jobs_service

        assert self.neuro is not None
        self.relay = find_jobs_service(
            self.neuro.jobs_service_url, self.neuro.jobs_service_name, os.environ, self.log
        )
        if self.relay is None:
            return False
        self.log.info("neuro: jobs run by the hub's jobs service at %s", self.relay.url)
        self.settings[RELAY_KEY] = self.relay
        self.settings[PROXY_CLIENT_KEY] = make_proxy_client()
        self.settings[PROXY_TIMEOUT_KEY] = self.neuro.proxy_timeout
        return True

    def _single_user(self) -> str | None:
        """The owner of every request, where the server's login names no user."""
        assert self.serverapp is not None
        provider = type(self.serverapp.identity_provider)
        if provider in (IdentityProvider, PasswordIdentityProvider):
            assert self.neuro is not None
            return str(self.neuro.local_user)
        return None

    def initialize_handlers(self) -> None:
        """Add the API and proxy routes (ExtensionApp prefixes ``base_url``)."""
        if self.relay is not None:
            from ..hub.relay import relay_handlers

            self.handlers.extend(relay_handlers())
            return
        self.handlers.extend(api_handlers(self.api_path))
        self.handlers.extend(proxy_handlers(self.jobs_path))
        assert self.service is not None and self.serverapp is not None
        template = self.service.addresses.host_template
        if template is not None:  # routed by Host, so not under base_url
            add_host_routes(self.serverapp.web_app, template)

    def _export_environment(self) -> None:
        # Kernels and terminals inherit the server's os.environ; jobs do not
        # (the local backend strips credentials from their environment).
        assert self.serverapp is not None
        os.environ["NEURO_API_URL"] = api_url(self.serverapp, self.api_path)
        token = self.serverapp.identity_provider.token
        if token:
            os.environ["NEURO_API_TOKEN"] = token
        os.environ["NEURO_JUPYTER_COMMAND"] = cli_command()

    def _publish(self) -> None:
        """Tell the service where this server publishes jobs (their URL, prefix, hosts)."""
        if self.service is None:  # relaying: the hub's jobs service publishes them
            return
        assert self.serverapp is not None and self.neuro is not None
        base_url = self.serverapp.base_url
        addresses = self.neuro.job_addresses(
            base_url, self.serverapp.connection_url, self.jobs_path
        )
        self.service.publish(addresses)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Adopt live jobs at start-up; the port is final now, export it again."""
        self._export_environment()
        self._publish()
        if self.service is not None:
            await self.service.ready()
        if self.neuro is not None and self.neuro.gc_freeze_at_start:
            # What the server made to start lives as long as it does; full
            # collections walked all of it (100-175 ms pauses of every request).
            gc.collect()
            gc.freeze()

    async def stop_extension(self) -> None:
        """Stop watching jobs; the jobs themselves keep running."""
        if self.service is not None:
            await self.service.close()
        client = self.settings.get(PROXY_CLIENT_KEY)
        if client is not None:
            await client.close()
