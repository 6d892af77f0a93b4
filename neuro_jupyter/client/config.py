"""Where the API is: :class:`ApiConfig` and its discovery from the environment.

Order (jupyterlab-extension-notes §3): ``NEURO_API_URL``/``NEURO_API_TOKEN``
(exported by the server extension to its kernels and terminals), then the
running server's ``jpserver-{JPY_PARENT_PID}.json``, then the JupyterHub
single-user environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import API_SUFFIX, ClientConfigError

__all__ = ["ApiConfig"]

HUB_DEFAULT_ROOT = "http://127.0.0.1:8888"
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class ApiConfig:
    """The API root (ending in ``/``), the token sent with each call, the user if known."""

    url: str
    token: str | None
    user: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _slash(self.url))

    def __repr__(self) -> str:
        token = "***" if self.token else None
        return f"ApiConfig(url={self.url!r}, token={token!r}, user={self.user!r})"

    @classmethod
    def discover(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """Find the API from ``environ`` (default ``os.environ``).

        Raises:
            ClientConfigError: no source names an API.
        """
        env = os.environ if environ is None else environ
        for source in (_from_neuro_env, _from_server_file, _from_hub_env):
            config = source(env)
            if config is not None:
                return config
        raise ClientConfigError(
            "no neuro-jupyter API found: run this in a kernel or terminal started by "
            "Jupyter, or set NEURO_API_URL (and NEURO_API_TOKEN) to the server's "
            "neuro/api/v1/ address"
        )


def _from_neuro_env(env: Mapping[str, str]) -> ApiConfig | None:
    url = env.get("NEURO_API_URL")
    if not url:
        return None
    return ApiConfig(url, env.get("NEURO_API_TOKEN") or None, env.get("JUPYTERHUB_USER"))


def _runtime_dir(env: Mapping[str, str]) -> Path:
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def _from_server_file(env: Mapping[str, str]) -> ApiConfig | None:
    """The server that started this kernel, from its ``jpserver-PID.json``."""
    pid = env.get("JPY_PARENT_PID")
    if not pid or not pid.isdigit():
        return None
    try:
        info = json.loads((_runtime_dir(env) / f"jpserver-{pid}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    # The file's url already ends with the server's base_url.
    token = info.get("token") or None
    return ApiConfig(_slash(url) + API_SUFFIX, token, env.get("JUPYTERHUB_USER"))


def _local_host(url: str) -> str:
    """``url`` with a wildcard bind address replaced by the loopback one."""
    parts = urlsplit(url)
    host, sep, port = parts.netloc.rpartition(":")
    if not sep or not port.isdigit():
        host, sep, port = parts.netloc, "", ""
    host = _WILDCARD_HOSTS.get(host, host)
    return urlunsplit(parts._replace(netloc=f"{host}{sep}{port}"))


def _from_hub_env(env: Mapping[str, str]) -> ApiConfig | None:
    """A JupyterHub single-user server's own address and the hub token."""
    token = env.get("JUPYTERHUB_API_TOKEN") or env.get("JPY_API_TOKEN") or None
    user = env.get("JUPYTERHUB_USER")
    if env.get("JUPYTERHUB_SERVICE_URL"):
        root = _slash(_local_host(env["JUPYTERHUB_SERVICE_URL"]))
    elif env.get("JUPYTERHUB_SERVICE_PREFIX"):
        prefix = "/" + env["JUPYTERHUB_SERVICE_PREFIX"].strip("/") + "/"
        root = HUB_DEFAULT_ROOT + prefix.replace("//", "/")
    else:
        return None
    return ApiConfig(root + API_SUFFIX, token, user)
