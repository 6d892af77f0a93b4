"""``{base_url}neuro/jobs/{ref}/…``: a job's HTTP port behind Jupyter's login (DESIGN.md §4).

Who gets in is decided in :meth:`JobProxyHandler.prepare`, for every method
and before any byte goes to the job (jupyter-server-proxy ``ProxyHandler.prepare``).
The target is the job record's endpoint, never anything in the URL. One
pooled ``aiohttp.ClientSession`` per server carries every request (its C
parser makes the proxy several times faster than httpx did); bodies stream
both ways chunk by chunk with no size cap. WebSocket upgrades are relayed by
:class:`~.proxy_ws.WebSocketProxyMixin`.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable
from http.client import responses
from typing import Any
from urllib.parse import urlsplit

from jupyter_server._tz import utcnow
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.httputil import url_concat

from ..backends.base import Endpoint
from ..jobs.addresses import JOBS_PATH
from ..jobs.errors import Forbidden, NeuroError
from ..jobs.model import Job
from .base import ServiceMixin, status_of, user_name_of
from .upstream import (
    HOP_BY_HOP,
    PROXY_CLIENT_KEY,
    PROXY_TIMEOUT_KEY,
    UpstreamPool,
    UpstreamRelayHandler,
    connection_tokens,
    make_proxy_client,
    strip_token,
    target_of,
)

__all__ = [
    "HOP_BY_HOP",
    "PROXY_CLIENT_KEY",
    "PROXY_TIMEOUT_KEY",
    "JobProxyHandler",
    "UpstreamPool",
    "make_proxy_client",
    "proxy_handlers",
]

# Set by us only: a visitor cannot claim an address, a prefix or a user.
_OURS = frozenset(
    {
        "host",
        "authorization",
        "cookie",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-prefix",
        "x-forwarded-context",
        "x-proxycontextpath",
        "x-forwarded-port",
        "x-real-ip",
        "x-neuro-user",
    }
)

# Pages of a job shown to anyone but its owner run in a unique origin, so
# their scripts cannot act on Jupyter as the visitor.
SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"


@functools.lru_cache(maxsize=8)
def _prefix_pattern(start: str) -> re.Pattern[str]:
    """``start`` and a job ref: the prefix of a job's path (one per server)."""
    return re.compile(re.escape(start) + r"[^/?]+")


def visitor_cookies(
    header_values: Iterable[str], drop: Iterable[str], drop_prefixes: Iterable[str] = ()
) -> str:
    """The ``Cookie`` pairs the job may see: all but the login's ones.

    ``drop`` names cookies to leave out; ``drop_prefixes`` starts of names
    (``username-`` always: jupyter_server's per-port login cookies).
    """
    dropped = set(drop)
    prefixes = ("username-", *drop_prefixes)
    kept = []
    for value in header_values:
        for pair in value.split(";"):
            name = pair.split("=", 1)[0].strip()
            if not name or name in dropped or name.startswith(prefixes):
                continue
            kept.append(pair.strip())
    return "; ".join(kept)


def forwarded_prefix_headers(stripped: str) -> list[tuple[str, str]]:
    """The headers telling a job the prefix stripped before it, none where nothing was.

    ``X-Forwarded-Prefix`` (Werkzeug's ``ProxyFix``, Spring, Traefik) beside
    ``X-Forwarded-Context`` and ``X-ProxyContextPath``, which apps written for
    jupyter-server-proxy read (issue 11). A job whose paths keep the prefix
    must get none: an app applying it would add the prefix twice.
    """
    if not stripped:
        return []
    return [
        ("X-Forwarded-Prefix", stripped),
        ("X-Forwarded-Context", stripped),
        ("X-ProxyContextPath", stripped),
    ]


def login_cookies(handler: JupyterHandler) -> tuple[list[str], list[str]]:
    """The names (and name prefixes) of the cookies that log a visitor in here.

    An identity provider may name more with ``login_cookie_names()``, as the
    JupyterHub jobs service's does (HubOAuth's cookie and its OAuth state).
    """
    provider = handler.identity_provider
    names = [provider.get_cookie_name(handler), "_xsrf"]
    prefixes: list[str] = []
    more = getattr(provider, "login_cookie_names", None)
    if more is not None:
        extra_names, extra_prefixes = more()
        names += extra_names
        prefixes += extra_prefixes
    return names, prefixes


def scope_cookie(set_cookie: str, prefix: str) -> str:
    """A job's ``Set-Cookie`` limited to the job's prefix, with no ``Domain``."""
    parts = [p.strip() for p in set_cookie.split(";")]
    out = [parts[0]]
    path = "/"
    for attr in parts[1:]:
        key = attr.split("=", 1)[0].strip().lower()
        if key == "path":
            path = attr.split("=", 1)[1].strip() if "=" in attr else "/"
        elif key != "domain" and attr:
            out.append(attr)
    if not path.startswith("/"):
        path = "/"
    if not (path == prefix or path.startswith(prefix + "/")):
        path = prefix + path
    out.insert(1, f"Path={path}")
    return "; ".join(out)


@web.stream_request_body
class JobProxyHandler(ServiceMixin, UpstreamRelayHandler):  # type: ignore[misc]
    """Relays HTTP (and WebSocket, via the mixin) to a job's HTTP port."""

    auth_resource = "neuro"
    job: Job
    endpoint: Endpoint
    visitor: str | None = None
    prefix = ""

    def check_xsrf_cookie(self) -> None:
        """Forms of the job carry the job's own CSRF tokens, not Jupyter's: defer to the job."""

    # -- who gets in ------------------------------------------------------

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate, authorise and find the target before reading any body."""
        await super().prepare()
        if self._finished:
            return
        ref = self.path_kwargs["ref"]
        self.visitor = user_name_of(self) if self.current_user else None
        try:
            if self.visitor is not None:
                allowed = self.authorizer.is_authorized(self, self.current_user, "read", "neuro")
                if not await ensure_async(allowed):
                    raise Forbidden(f"you may not open job {ref}")
            self.job, self.endpoint = await self.service.proxy_target(self.visitor, ref)
        except Forbidden as exc:
            self._refuse_forbidden(exc)
            return
        except NeuroError as exc:
            self.refuse(status_of(exc), exc.message, getattr(exc, "field", None))
            return
        if not self._locate():
            return
        self.upstream_base = f"http://{self.endpoint.netloc}"
        self.upstream_label = f"job {self.job.id}"
        self.settings["api_last_activity"] = utcnow()
        self.start_body()

    def _refuse_forbidden(self, exc: Forbidden) -> None:
        browser = "text/html" in self.request.headers.get("Accept", "")
        if self.visitor is None and browser and self.request.method in ("GET", "HEAD"):
            # The login URL may carry a query already (JupyterHub's OAuth one).
            self.redirect(url_concat(self.get_login_url(), {"next": self.request.uri}))
        else:
            self.refuse(403, exc.message)

    def refuse(self, status: int, message: str, field: str | None = None) -> None:
        """Why, as a short page for a browser (every echoed word escaped), else
        as the API's ``{"error", "field"}`` (issue 14)."""
        self.clear()
        self.set_status(status)
        if "text/html" not in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": message, "field": field}))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        reason = html.escape(responses.get(status, "Error"))
        self.finish(
            f"<!DOCTYPE html><title>{status} {reason}</title>"
            f"<h1>{status} {reason}</h1><p>{html.escape(message)}</p>\n"
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """An error no refusal above answered, in the same two forms."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args
        self.refuse(status_code, message)

    def _locate(self) -> bool:
        """Split the raw URI into the job's prefix and what the job receives."""
        uri = self.request.uri or ""
        match = _prefix_pattern(f"{self.base_url}{self.service.addresses.jobs_path}/").match(uri)
        if match is None:  # not origin-form: nothing to forward
            self.refuse(400, "bad request target")
            return False
        self.prefix = match.group(0)
        tail = uri[len(self.prefix) :]
        if not tail.startswith("/"):
            if self.request.method in ("GET", "HEAD"):
                self.redirect(f"{self.prefix}/{tail}")
                return False
            tail = "/" + tail
        assert self.job.spec.http is not None
        kept = ""
        if self.job.spec.http.keep_prefix:
            # The job serves under the one prefix its environment names
            # (NEURO_JOB_HTTP_PREFIX); a visitor who came by another ref
            # (the id, the bare name) is sent there, so that the job's links
            # and cookies line up with the address bar.
            kept = self.service.addresses.prefix(self.job)
            if kept and kept != self.prefix and self.request.method in ("GET", "HEAD"):
                self.redirect(kept + tail)
                return False
        path, sep, query = tail.partition("?")
        tail = f"{path}?{strip_token(query)}" if sep else path
        self.target = target_of(kept + tail)
        return True

    # -- the request ------------------------------------------------------

    def upstream_headers(self) -> list[tuple[str, str]]:
        """The visitor's headers minus credentials and hop-by-hop ones, plus ours."""
        drop = connection_tokens(self.request.headers.get_list("Connection")) | _OURS
        headers = [
            (k, self._as_job_origin(v) if k.lower() == "origin" else v)
            for k, v in self.request.headers.get_all()
            if k.lower() not in drop
        ]
        names, prefixes = login_cookies(self)
        cookies = visitor_cookies(self.request.headers.get_list("Cookie"), names, prefixes)
        if cookies:
            headers.append(("Cookie", cookies))
        headers += [
            ("X-Forwarded-For", self.request.remote_ip or ""),
            ("X-Forwarded-Proto", self.request.protocol),
            ("X-Forwarded-Host", self.request.host),
        ]
        headers += forwarded_prefix_headers(self.stripped_prefix())
        if self.visitor is not None:
            headers.append(("X-Neuro-User", self.visitor))
        return headers

    def stripped_prefix(self) -> str:
        """The part of the visitor's path the job does not see: ``""`` for a
        ``keep_prefix`` job (its paths carry the prefix) or a job on its own host."""
        assert self.job.spec.http is not None
        return "" if self.job.spec.http.keep_prefix else self.prefix

    def _as_job_origin(self, origin: str) -> str:
        """A same-origin ``Origin`` as the job's own, any other as it came.

        The job compares ``Origin`` with the ``Host`` it sees, its own address;
        left as is, a browser's POST or WebSocket to a Jupyter run as a job
        would look cross-origin to it and be refused.
        """
        if urlsplit(origin).netloc.lower() == (self.request.headers.get("Host") or "").lower():
            return f"http://{self.endpoint.netloc}"
        return origin

    def answer_header(self, name: str, value: str) -> str | None:
        """Cookies scoped to the job's prefix; redirects kept under it."""
        lower = name.lower()
        if lower == "set-cookie":
            return scope_cookie(value, self.prefix)
        if lower == "location":
            return self.rewrite_location(value)
        return value

    def extra_answer_headers(self) -> list[tuple[str, str]]:
        """The sandbox, for pages shown to anyone but the job's owner."""
        return [("Content-Security-Policy", SANDBOX_CSP)] if self.sandboxed() else []

    def sandboxed(self) -> bool:
        """Whether the job's pages run in a unique origin: shown to anyone but its owner.

        Jobs on hosts of their own (``proxy_host``) need no sandbox.
        """
        return self.visitor != self.job.owner

    def rewrite_location(self, location: str) -> str:
        """Redirects of the job point under its prefix; relative and foreign ones stay."""
        assert self.job.spec.http is not None
        keep = self.job.spec.http.keep_prefix
        if location.startswith("/") and not location.startswith("//"):
            return location if keep else self.prefix + location
        parts = urlsplit(location)
        own = {self.endpoint.netloc, f"localhost:{self.endpoint.port}"}
        if parts.scheme in ("http", "https") and parts.netloc in own:
            path = parts.path or "/"
            if not keep:
                path = self.prefix + path
            rest = location[len(f"{parts.scheme}://{parts.netloc}") :]
            rest = rest[len(parts.path) :]
            return f"{self.request.protocol}://{self.request.host}{path}{rest}"
        return location

    # -- the methods ------------------------------------------------------

    @allow_unauthenticated
    async def get(self, ref: str, path: str = "") -> None:
        """A WebSocket upgrade or a plain GET."""
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            await self.proxy_websocket(ref, path)
        else:
            await self.relay_http()

    @allow_unauthenticated
    async def _other(self, ref: str, path: str = "") -> None:
        await self.relay_http()

    head = post = put = delete = patch = options = _other  # type: ignore[assignment]


def proxy_handlers(prefix: str = JOBS_PATH) -> list[tuple[str, type]]:
    """The route table, relative to ``base_url``: jobs by path under ``prefix``.

    ``prefix`` must be the ``jobs_path`` of the service's published addresses.
    """
    return [(rf"{re.escape(prefix)}/(?P<ref>[^/?]+)(?P<path>.*)", JobProxyHandler)]
