"""Users' servers under JupyterHub: ``neuro/api`` relayed to the hub's jobs service.

A single-user server that finds the jobs service (``c.NeuroJobs.jobs_service_url``,
or a hub service named ``c.NeuroJobs.jobs_service_name`` that the server's
token may read) keeps no registry or backend of its own. Its
``{base_url}neuro/api/v1/…`` passes every request to the service as the
server's owner (the server's own hub token, which must carry the scope
``access:services!service=NAME``: ``c.Spawner.server_token_scopes``),
streaming both ways (chunked logs, ``top`` events, ``exec`` WebSockets).
So the Lab sidebar, the widgets and the magics work unchanged.

``{base_url}neuro/jobs/{ref}/…`` redirects to the job's address under the
service, ``/services/NAME/jobs/{ref}/…``: the one address a job has on a hub
(its ``http_url``), where the service itself checks who may open it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from jupyter_server._tz import utcnow
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import web

from ..server.upstream import UpstreamRelayHandler, connection_tokens, strip_token, target_of

__all__ = ["RELAY_KEY", "JobsService", "find_jobs_service", "relay_handlers"]

RELAY_KEY = "neuro_jobs_relay"
"""Setting: the :class:`JobsService` this server relays to."""

DISCOVERY_TIMEOUT = 5.0

# Never passed on: the visitor's credentials for this server (the relay sends
# its own), and what only the relay may say about the request.
_DROPPED = frozenset(
    {"authorization", "cookie", "x-xsrftoken", "forwarded", "x-forwarded-for", "x-real-ip"}
)


@dataclass(frozen=True)
class JobsService:
    """Where the hub's jobs service is.

    Args:
        url: its root as this server reaches it, prefix included
            (``http://127.0.0.1:PORT/services/neuro/``).
        public_prefix: its root path as browsers reach it through the hub
            (``/services/neuro/``).
        token: what the relay authenticates with (this server's hub token).
    """

    url: str
    public_prefix: str
    token: str

    @property
    def origin(self) -> str:
        """``scheme://host:port`` of :attr:`url`."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def path(self) -> str:
        """The path of :attr:`url`, ``/`` at the end."""
        return urlsplit(self.url).path or "/"


def find_jobs_service(
    url: str, name: str, environ: Mapping[str, str], log: logging.Logger | None = None
) -> JobsService | None:
    """The jobs service this server relays to, or None to run jobs itself.

    ``url`` (``c.NeuroJobs.jobs_service_url``) wins; otherwise, under a hub
    (``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN`` set), the hub is asked
    for its service ``name``. A hub without that service, or a token that
    may not read it, means no relay.
    """
    log = log or logging.getLogger(__name__)
    token = environ.get("JUPYTERHUB_API_TOKEN", "")
    if url:
        url = url if url.endswith("/") else url + "/"
        return JobsService(url, urlsplit(url).path or "/", token)
    api = environ.get("JUPYTERHUB_API_URL")
    if not api or not token or not name:
        return None
    try:
        response = httpx.get(
            f"{api.rstrip('/')}/services/{name}",
            headers={"Authorization": f"token {token}"},
            timeout=DISCOVERY_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        log.warning("neuro: could not ask the hub at %s for service %r: %s", api, name, exc)
        return None
    if response.status_code != 200:
        log.info(
            "neuro: the hub shows no service %r to this server (%s); running jobs here. "
            "Add read:services!service=%s to c.Spawner.server_token_scopes, or set "
            "c.NeuroJobs.jobs_service_url, to use the hub's jobs service.",
            name,
            response.status_code,
            name,
        )
        return None
    info = response.json()
    if not info.get("url") or not info.get("prefix"):
        log.warning("neuro: hub service %r has no URL; running jobs here", name)
        return None
    prefix = str(info["prefix"])
    return JobsService(f"{str(info['url']).rstrip('/')}{prefix}", prefix, token)


@web.stream_request_body
class JobsRelayHandler(UpstreamRelayHandler):  # type: ignore[misc]
    """``{base_url}neuro/api/…`` of the server's owner, passed to the jobs service."""

    auth_resource = "neuro"

    @property
    def jobs_service(self) -> JobsService:
        """The service relayed to."""
        service: JobsService = self.settings[RELAY_KEY]
        return service

    def check_xsrf_cookie(self) -> None:
        """Checked in :meth:`prepare`, after the login (jupyter_server's order)."""

    async def prepare(self) -> None:  # type: ignore[override]
        """Only the server's owner is relayed, as themselves; then aim at the service."""
        await super().prepare()
        if self._finished:
            return
        user = self.current_user
        if user is None:
            self.refuse(403, "log in to JupyterHub, or send this server's token")
            return
        owner = os.environ.get("JUPYTERHUB_USER") or user.username
        if user.username != owner:
            self.refuse(403, f"this server's jobs relay acts for {owner} only")
            return
        action = "read" if self.request.method in ("GET", "HEAD", "OPTIONS") else "write"
        if not await ensure_async(self.authorizer.is_authorized(self, user, action, "neuro")):
            self.refuse(403, f"{user.username} may not use neuro on this server")
            return
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            try:  # a browser's cookie login needs its XSRF token; a token does not
                JupyterHandler.check_xsrf_cookie(self)
            except web.HTTPError as exc:
                self.refuse(exc.status_code, exc.log_message or "XSRF check failed")
                return
        service = self.jobs_service
        tail = (self.request.uri or "")[len(f"{self.base_url}neuro/") :]
        path, sep, query = tail.partition("?")
        self.target = target_of(service.path + path + (f"?{strip_token(query)}" if sep else ""))
        self.upstream_base = service.origin
        self.upstream_label = f"jobs service at {service.url}"
        self.settings["api_last_activity"] = utcnow()
        self.start_body()

    def upstream_headers(self) -> list[tuple[str, str]]:
        """The visitor's headers, its credentials replaced by this server's token.

        ``Host`` stays, so the job URLs the service answers with are those of
        the hub the visitor sees.
        """
        drop = connection_tokens(self.request.headers.get_list("Connection")) | _DROPPED
        headers = [(k, v) for k, v in self.request.headers.get_all() if k.lower() not in drop]
        headers += [
            ("Authorization", f"token {self.jobs_service.token}"),
            ("X-Forwarded-For", self.request.remote_ip or ""),
        ]
        return headers

    def refuse(self, status: int, message: str) -> None:
        """The API's own error shape, so clients show the words."""
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message, "field": None}))

    def refuse_unreachable(self, error: Exception) -> None:
        """503 naming the service: it is down, or not yet restarted by the hub."""
        self.refuse(503, f"jobs service unavailable at {self.jobs_service.url}: {error}")

    @allow_unauthenticated
    async def get(self, path: str = "") -> None:
        """A WebSocket upgrade (``exec``) or a plain GET."""
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            await self.proxy_websocket(path)
        else:
            await self.relay_http()

    @allow_unauthenticated
    async def _other(self, path: str = "") -> None:
        await self.relay_http()

    head = post = put = delete = patch = options = _other  # type: ignore[assignment]


class JobAddressRedirectHandler(JupyterHandler):  # type: ignore[misc]
    """``{base_url}neuro/jobs/…`` → the job's one address under the jobs service."""

    @allow_unauthenticated
    def get(self, path: str) -> None:
        """Redirect (the service decides who may open the job)."""
        service: JobsService = self.settings[RELAY_KEY]
        query = self.request.query
        self.redirect(f"{service.public_prefix}jobs/{path}" + (f"?{query}" if query else ""))

    head = get


def relay_handlers() -> list[tuple[str, type, dict[str, Any]] | tuple[str, type]]:
    """The relay's routes, relative to ``base_url``."""
    return [
        (r"neuro/(?P<path>api/.*)", JobsRelayHandler),
        (r"neuro/jobs/(?P<path>.*)", JobAddressRedirectHandler),
    ]
