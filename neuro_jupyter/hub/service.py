"""The jobs service of a JupyterHub: one registry and backend for all of its users.

Run by the hub as a *managed* service (``neuro-jupyter-hub-service``, named
``neuro`` by default), it serves the same REST API and job proxy as the
server extension, at ``/services/neuro/api/v1/`` and
``/services/neuro/jobs/{ref}/``, on the hub's login (:mod:`.identity`).
Jobs belong to the service: users' notebook servers stopping, being culled
or crashing changes nothing for them.

It is a jupyter_server with nothing but these routes (no kernels, contents,
files or terminals: every hub user may call it), so the very handlers of
:mod:`neuro_jupyter.server` serve it unchanged. Configuration comes from
the environment the hub gives a managed service, then from
``--config=FILE`` (``c.NeuroJobs.*``, ``c.LocalBackend.*``,
``c.KubernetesBackend.*``, ``c.HubOAuth.cache_max_age``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.serverapp import ServerApp
from traitlets.config import Config

from ..server.extension import NeuroJobsApp
from .identity import HubScopeAuthorizer, JobsServiceIdentityProvider

__all__ = ["JobsServiceServer", "NeuroHubService", "main"]

GROUPS_FRESH_FOR = 30
"""Seconds the hub's answer on a login (its groups included) is reused: a
user removed from a group loses what was shared with the group within this."""


class JobsServiceServer(ServerApp):  # type: ignore[misc]
    """A jupyter_server serving only what its extensions add."""

    # Every hub user with the access scope reaches this server: none of
    # jupyter_server's own APIs (kernels, contents, files, terminals) may be here.
    default_services = ()  # type: ignore[assignment]


def _hub_settings(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """ServerApp settings from the environment JupyterHub gives a managed service."""
    url = urlsplit(environ.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101")
    return {
        "ip": url.hostname or "127.0.0.1",
        "port": url.port or (443 if url.scheme == "https" else 80),
        "base_url": environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/neuro/",
        "identity_provider_class": JobsServiceIdentityProvider,
        "authorizer_class": HubScopeAuthorizer,
        "allow_remote_access": True,  # the hub's proxy and users' servers pass their Host on
        "trust_xheaders": True,
        "open_browser": False,
        "port_retries": 0,
        "terminals_enabled": False,
        "quit_button": False,
        "answer_yes": True,
        # It runs as the hub's own user, root included; it starts no kernels.
        "allow_root": True,
        "certfile": environ.get("JUPYTERHUB_SSL_CERTFILE") or "",
        "keyfile": environ.get("JUPYTERHUB_SSL_KEYFILE") or "",
        "client_ca": environ.get("JUPYTERHUB_SSL_CLIENT_CA") or "",
    }


class NeuroHubService(NeuroJobsApp):
    """The extension in its JupyterHub-service form: API at ``api/v1``, jobs at ``jobs/``."""

    name = "neuro_jupyter_hub"
    load_other_extensions = False
    serverapp_class = JobsServiceServer
    api_path = "api/v1"
    jobs_path = "jobs"
    relays = False

    @classmethod
    def get_extension_package(cls) -> str:
        """Loaded alone, as ``neuro_jupyter.hub`` (not the per-server extension)."""
        return "neuro_jupyter.hub"

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Settle the server from the hub's environment; explicit config wins."""
        super().load_config_file(*args, **kwargs)
        assert self.serverapp is not None
        given = self.serverapp.config.get("ServerApp", {})
        ours = Config()
        for key, value in _hub_settings(os.environ).items():
            if key not in given:
                ours.ServerApp[key] = value
        if "cache_max_age" not in self.serverapp.config.get("HubOAuth", {}):
            ours.HubOAuth.cache_max_age = GROUPS_FRESH_FOR
        if "public_url" not in self.serverapp.config.get("NeuroJobs", {}):
            public = os.environ.get("JUPYTERHUB_PUBLIC_URL")
            if public:
                ours.NeuroJobs.public_url = public
        self.serverapp.update_config(ours)

    def initialize_settings(self) -> None:
        """As the extension, with tornado's own XSRF check off.

        tornado checks before the login is known, so it would refuse
        token-authenticated POSTs; jupyter_server checks again after it
        (jupyterhub-singleuser does the same).
        """
        super().initialize_settings()
        self.settings["xsrf_cookies"] = False  # copied onto the web app's settings

    def _export_environment(self) -> None:
        """Nothing to export: the service starts no kernels or terminals."""


main = NeuroHubService.launch_instance
