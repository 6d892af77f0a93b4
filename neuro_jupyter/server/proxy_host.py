"""Jobs on hosts of their own: ``c.NeuroJobs.job_host_template`` (DESIGN.md §4, issue 4).

Where a deployment points wildcard DNS at the server, a request whose Host
matches the template (e.g. ``{name}--{owner}.jobs.example.com``) reaches that
job at the root of its own origin: the path goes to the job as it came, the
job's cookies are scoped to ``/``, and its pages need no sandbox (the sandbox
keeps pages shown on Jupyter's origin away from the visitor's session). Who
gets in is decided exactly as for paths, in
:meth:`~.proxy.JobProxyHandler.prepare`.
"""

from __future__ import annotations

from tornado import web

from ..jobs.addresses import HostTemplate
from ..jobs.errors import Forbidden
from .proxy import JobProxyHandler
from .upstream import strip_token, target_of

__all__ = ["JobHostProxyHandler", "add_host_routes"]


class JobHostProxyHandler(JobProxyHandler):
    """The job proxy on a host made from the template: the Host names the job."""

    async def prepare(self) -> None:  # type: ignore[override]
        """Find the job the Host names, then authorise as on paths."""
        template = self.service.addresses.host_template
        ref = template.ref_of(self.request.host_name) if template is not None else None
        if ref is None:  # routed here by the template, so not expected
            self.refuse(404, "no job is served on this host")
            return
        # Where the path routes capture it: prepare() and the methods read it there.
        self.path_kwargs["ref"] = ref
        await super().prepare()

    def check_host(self) -> bool:
        """The Host matched the deployment's own template.

        jupyter_server refuses unknown hosts on a local server against DNS
        rebinding; these are hosts the configuration named.
        """
        return True

    def _refuse_forbidden(self, exc: Forbidden) -> None:
        # Jupyter's login page is on another origin and its cookie never comes
        # here: a redirect to it could not help.
        self.refuse(403, exc.message)

    def _locate(self) -> bool:
        """The whole request-target goes to the job (no prefix), Jupyter's token removed."""
        uri = self.request.uri or ""
        if not uri.startswith("/"):  # not origin-form: nothing to forward
            self.refuse(400, "bad request target")
            return False
        path, sep, query = uri.partition("?")
        self.prefix = ""
        self.target = target_of(f"{path}?{strip_token(query)}" if sep else path)
        return True

    def sandboxed(self) -> bool:
        """Never: the job's pages are on an origin of their own."""
        return False


def add_host_routes(web_app: web.Application, template: HostTemplate) -> None:
    """Route every path of the template's hosts to :class:`JobHostProxyHandler`.

    ``add_handlers`` places the rule after the ones other extensions added for
    every host (``.*$``), which would take their paths (``/lab``, ``/api``) on
    a job's host too; the host of a job is the job's alone, so the rule goes first.
    """
    web_app.add_handlers(template.pattern, [(r".*", JobHostProxyHandler)])
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
