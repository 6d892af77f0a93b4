"""``GET {api}/auth``: forward-auth for an ingress that carries jobs' bytes itself (issue 11).

nginx ``auth_request``, ingress-nginx ``auth-url``, Traefik ``ForwardAuth`` and
Envoy's HTTP ext_authz ask, for each visitor's request, "may this visitor open
the job this host and URI name?"; Jupyter (or the hub's jobs service) answers
with the very rule of the in-server proxy (:meth:`JobService.forward_target`
over :meth:`JobService.proxy_target`), and the proxy forwards the bytes:

- 200: the visitor may; ``X-Neuro-*`` headers say where the job listens and
  what the proxy must send it (the visitor's cookies minus Jupyter's login,
  the prefix it strips, the sandbox for pages of someone else's job);
- 401: an anonymous visitor and a job with HTTP auth; ``X-Neuro-Login`` is
  Jupyter's login page with ``next`` kept, for the proxy to redirect to;
- 403: a logged-in visitor whom Jupyter's authorizer lets not read jobs;
- 404: no job the visitor may see (its existence not revealed);
- 503: the job has ended, or serves no HTTP yet.

Every answer says how long the proxy may keep it (``Cache-Control: private,
max-age=N`` and nginx's ``X-Accel-Expires``, N = ``c.NeuroJobs.auth_cache_max_age``),
so a kill, an unshare or a new share takes effect within N seconds. A 401
carries a per-URI login link and is not to be kept.

The original request is read from the headers each proxy sends; the proxy's
configuration must overwrite them (deploy/ does), as a visitor could send any.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, urlsplit

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.utils import ensure_async
from tornado import httputil
from tornado.httputil import url_concat

from ..jobs.errors import Forbidden, InvalidSpec, LoginRequired, NeuroError
from .base import NeuroAPIHandler, status_of
from .proxy import SANDBOX_CSP, login_cookies, visitor_cookies

__all__ = ["AUTH_MAX_AGE_KEY", "ForwardAuthHandler", "original_request"]

AUTH_MAX_AGE_KEY = "neuro_auth_max_age"
"""Setting: seconds a proxy may keep a forward-auth answer."""


def _split(url: str) -> SplitResult | None:
    """``url`` split, or None where it is no URL (a host like ``[x``): it names no job."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018  (raises on a bad bracketed host)
    except ValueError:
        return None
    return parts


def original_request(headers: httputil.HTTPHeaders) -> tuple[str, str]:
    """The host name (no port, lowercase) and path of the request a proxy asks about.

    In this order: ingress-nginx's ``X-Original-URL``; nginx's
    ``X-Original-URI`` with ``X-Original-Host`` (else ``Host``); Traefik's
    and Envoy's ``X-Forwarded-Uri`` with ``X-Forwarded-Host`` (else ``Host``).
    The query is left out: it names no job.

    Raises:
        InvalidSpec: none of them came (a proxy left unconfigured).
    """
    url = headers.get("X-Original-URL")
    if url:
        parts = _split(url)
        if parts is None:
            return "", "/"
        return parts.hostname or "", parts.path or "/"
    for uri_name, host_name in (
        ("X-Original-URI", "X-Original-Host"),
        ("X-Forwarded-Uri", "X-Forwarded-Host"),
    ):
        uri = headers.get(uri_name)
        if uri:
            host = headers.get(host_name) or headers.get("Host") or ""
            # The first of a list (a chain of proxies each adding its own).
            host = host.split(",")[0].strip()
            parts = _split(f"//{host}")
            return (parts.hostname or "") if parts is not None else "", uri.partition("?")[0]
    raise InvalidSpec(
        "X-Original-URI",
        "send the original request's URI in X-Original-URI (nginx), X-Original-URL "
        "(ingress-nginx) or X-Forwarded-Uri (Traefik, Envoy)",
    )


class ForwardAuthHandler(NeuroAPIHandler):
    """``GET auth``: may this visitor open the job the original host and URI name?"""

    @allow_unauthenticated
    async def get(self) -> None:
        host_name, path = original_request(self.request.headers)
        visitor = self.user_name if self.current_user else None
        if visitor is not None:
            allowed = self.authorizer.is_authorized(self, self.current_user, "read", "neuro")
            if not await ensure_async(allowed):
                raise Forbidden("you may not open jobs")
        job, endpoint, visit = await self.service.forward_target(visitor, host_name, path)
        stripped, kept = self.service.addresses.forwarded(job, visit)
        names, prefixes = login_cookies(self)
        cookies = self.request.headers.get_list("Cookie")
        sandboxed = visit.prefix != "" and visitor != job.owner
        self._cache_headers(200)
        for name, value in (
            ("X-Neuro-Upstream", endpoint.netloc),
            ("X-Neuro-Job", job.id),
            ("X-Neuro-User", visitor or ""),
            ("X-Neuro-Prefix", stripped),
            ("X-Neuro-Path-Prefix", kept),
            ("X-Neuro-Cookie", visitor_cookies(cookies, names, prefixes)),
            ("X-Neuro-CSP", SANDBOX_CSP if sandboxed else ""),
        ):
            self.set_header(name, value)
        self.write_json({"job": job.id, "user": visitor, "upstream": endpoint.netloc})

    def _cache_headers(self, status: int) -> None:
        # The status again, as a header: nginx turns an auth answer other than
        # 2xx, 401, 403 into its own 500, and tells a cached one's status by
        # no variable but the answer's headers.
        self.set_header("X-Neuro-Status", str(status))
        # X-Accel-Expires first: nginx then keeps a "private" answer too
        # (deploy/ also tells it to ignore Cache-Control).
        if status == 401:
            self.set_header("X-Accel-Expires", "0")
            self.set_header("Cache-Control", "no-store")
            return
        max_age = int(self.settings.get(AUTH_MAX_AGE_KEY, 5))
        self.set_header("X-Accel-Expires", str(max_age))
        self.set_header("Cache-Control", f"private, max-age={max_age}")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """As every API error, with the cache headers, and the login link on a 401."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, InvalidSpec) and exc.field == "X-Original-URI":
            self.set_status(400)
            self.set_header("X-Neuro-Status", "400")
            self.set_header("Cache-Control", "no-store")
        else:
            self._cache_headers(status_of(exc) if isinstance(exc, NeuroError) else status_code)
        if isinstance(exc, LoginRequired):
            self.set_header("X-Neuro-Login", self._login_link())
            self.set_header("WWW-Authenticate", 'Bearer realm="jupyter"')
        super().write_error(status_code, **kwargs)

    def _login_link(self) -> str:
        """Jupyter's (or the hub service's) login page, back to the original URI after."""
        login = str(self.settings.get("login_url") or f"{self.base_url}login")
        headers = self.request.headers
        url = headers.get("X-Original-URL")
        uri = urlsplit(url)._replace(scheme="", netloc="").geturl() if url else None
        uri = uri or headers.get("X-Original-URI") or headers.get("X-Forwarded-Uri") or "/"
        return url_concat(login, {"next": uri})
