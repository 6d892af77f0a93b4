"""Who calls the jobs service: JupyterHub's login, through HubOAuth.

Browsers come with the hub's OAuth cookie (the OAuth dance keeps ``next``);
programs with a hub API token in ``Authorization: token``. Either way the
caller must hold the service's access scope (``access:services!service=NAME``).
The user's hub groups, as the hub says them on each check, reach the
:class:`~neuro_jupyter.service.JobService` before any permission is decided,
so sharing with ``group:NAME`` follows the hub's membership.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubUser
from tornado import web

from ..server.base import SERVICE_KEY

__all__ = ["HubScopeAuthorizer", "JobsServiceIdentityProvider"]


class JobsServiceIdentityProvider(JupyterHubIdentityProvider):  # type: ignore[misc]
    """JupyterHub's identity for single-user servers, told apart for the jobs service.

    A caller the hub knows but who lacks the service's access scope gets a
    403 naming the scope, for API clients and browsers alike.
    """

    async def get_user(self, handler: web.RequestHandler) -> JupyterHubUser | None:
        """The hub user of ``handler``'s request, with their groups passed to the service.

        Raises:
            tornado.web.HTTPError: 403 for a hub user without the access scope.
        """
        if hasattr(handler, "_jupyterhub_user"):
            user: JupyterHubUser | None = handler._jupyterhub_user
            return user
        self._patch_get_login_url(handler)
        self._patch_xsrf(handler)
        model = await self.hub_auth.get_user(handler, sync=False)
        if model is None:
            handler._jupyterhub_user = None  # type: ignore[attr-defined]
            return None
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            needed = " or ".join(sorted(self.hub_auth.access_scopes)) or "(none configured)"
            raise web.HTTPError(
                403,
                "%s %s may not use the jobs service: it needs the scope %s",
                model.get("kind", "user"),
                model.get("name", "?"),
                needed,
            )
        found = JupyterHubUser(model)
        handler._jupyterhub_user = found  # type: ignore[attr-defined]
        service = handler.settings.get(SERVICE_KEY)
        if service is not None and model.get("kind", "user") == "user":
            service.observe_groups(found.username, model.get("groups") or ())
        self.hub_auth._persist_url_token_if_set(handler)
        return found

    def login_cookie_names(self) -> tuple[list[str], list[str]]:
        """Cookies a job must never receive: the service's login and OAuth state,
        and the hub's own (names, name prefixes)."""
        hub_auth = self.hub_auth
        return [hub_auth.cookie_name], [hub_auth.state_cookie_name, "jupyterhub-"]


class HubScopeAuthorizer(Authorizer):  # type: ignore[misc]
    """Lets in the callers holding the service's access scope (checked again, to be safe)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Whether ``user`` holds the access scope; jobs' own rules come after, in the service."""
        hub_auth: Any = getattr(self.identity_provider, "hub_auth", None)
        if hub_auth is None:
            return False
        model = getattr(user, "hub_user", None)
        return model is not None and bool(hub_auth.check_scopes(hub_auth.access_scopes, model))
