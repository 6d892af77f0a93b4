"""Where a job's HTTP port is published (DESIGN.md §4): a path of the server or a host of its own.

Pure. One rule gives the API's ``http_url``, the job's ``NEURO_JOB_HTTP_URL``
and ``NEURO_JOB_HTTP_PREFIX``, and the hosts the proxy routes:

- by path, ``{base_url}neuro/jobs/{ref}/`` on the server's own origin, where
  ``ref`` is ``name--owner`` for a named job (stable while the job lives: a
  live name is unique per owner) and the job id otherwise;
- by host, where the deployment sets a host template such as
  ``{name}--{owner}.jobs.example.com``: the job owns a whole origin and is
  served at its root (prefix ``""``). Jobs the template cannot name (no name,
  or an owner that is not a DNS label) stay on the path form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from urllib.parse import quote, unquote, urlsplit

from .model import Job

__all__ = [
    "JOBS_PATH",
    "HostTemplate",
    "JobAddresses",
    "Visit",
    "job_http_ref",
]

JOBS_PATH = "neuro/jobs"
"""Where the proxy serves jobs by path, relative to the server's ``base_url``."""

# What each placeholder may stand for in a host. None of them can contain "."
# or "--", so a template whose placeholders are parted by either splits a
# host one way only.
_PLACEHOLDERS: Mapping[str, str] = {
    "name": r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*",
    "owner": r"[a-z0-9]+(?:-[a-z0-9]+)*",
    "id": r"job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
}
_LITERAL = re.compile(r"[a-z0-9.-]*")
_LABEL_MAX = 63


def job_http_ref(job: Job) -> str:
    """The reference in the job's path URL: ``name--owner``, else the id."""
    return f"{job.name}--{job.owner}" if job.name else job.id


@dataclass(frozen=True)
class HostTemplate:
    """A parsed ``job_host_template``: ``{name}``, ``{owner}`` and ``{id}`` in a host name.

    Build with :meth:`parse`. ``port`` is the optional ``:PORT`` the template
    ends with: part of the URLs made, not of the host names matched.
    """

    template: str
    host: str
    port: str
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, template: str) -> HostTemplate:
        """Check a template and return it parsed.

        Raises:
            ValueError: naming the broken rule: unknown or repeated
                placeholders, neither ``{id}`` nor ``{name}`` and ``{owner}``,
                characters a host name cannot have (lowercase only), or two
                placeholders not parted by ``.`` or ``--``.
        """
        host, sep, port = template.rpartition(":")
        if not sep or not port.isdigit():
            host, port = template, ""
        fields: list[str] = []
        between = ""
        try:
            pieces = list(Formatter().parse(host))
        except ValueError as exc:
            raise ValueError(f"job host template {template!r}: {exc}") from None
        for literal, field, spec, conversion in pieces:
            if not _LITERAL.fullmatch(literal):
                raise ValueError(
                    f"job host template {template!r}: use lowercase letters, digits, "
                    "'.' and '-' around the placeholders (and an optional :PORT at the end)"
                )
            between += literal
            if field is None:
                continue
            if field not in _PLACEHOLDERS or spec or conversion:
                raise ValueError(
                    f"job host template {template!r}: unknown placeholder {{{field}}}; "
                    "use {name}, {owner} or {id}"
                )
            if field in fields:
                raise ValueError(f"job host template {template!r}: {{{field}}} appears twice")
            if fields and "." not in between and "--" not in between:
                raise ValueError(
                    f"job host template {template!r}: part placeholders with '.' or '--' "
                    "so that a host names one job only"
                )
            fields.append(field)
            between = ""
        if set(fields) not in ({"id"}, {"name", "owner"}):
            raise ValueError(
                f"job host template {template!r}: name the job with {{id}}, "
                "or with {name} and {owner}"
            )
        return cls(template, host, port, tuple(fields))

    @property
    def pattern(self) -> str:
        """A regular expression matching the host names (no port) of the template.

        For ``tornado.web.Application.add_handlers``; one named group per placeholder.
        """
        out = []
        for literal, field, _, _ in Formatter().parse(self.host):
            out.append(re.escape(literal))
            if field is not None:
                out.append(f"(?P<{field}>{_PLACEHOLDERS[field]})")
        return "".join(out)

    def ref_of(self, host_name: str) -> str | None:
        """The job reference a request's host name (no port) stands for, if it matches."""
        match = re.fullmatch(self.pattern, host_name.lower())
        if match is None:
            return None
        groups = match.groupdict()
        return groups["id"] if "id" in groups else f"{groups['name']}--{groups['owner']}"

    def host_for(self, job: Job) -> str | None:
        """The job's host (with the template's port), or None where the template cannot name it."""
        values = {"name": job.name, "owner": job.owner, "id": job.id}
        for field in self.fields:
            value = values[field]
            if value is None or not re.fullmatch(_PLACEHOLDERS[field], value):
                return None
        host = self.host.format(**values)
        if any(len(label) > _LABEL_MAX for label in host.split(".")):
            return None
        return f"{host}:{self.port}" if self.port else host


@dataclass(frozen=True)
class Visit:
    """Where a visitor's request lands, read from its host and path (forward-auth, issue 11).

    ``ref`` names the job; ``prefix`` is the part of the path that names it
    (``{base_url}{jobs_path}/{ref}``, as the visitor wrote it), ``""`` on a
    host of the job's own; ``rest`` is the path after it (``/`` at least).
    """

    ref: str
    prefix: str
    rest: str


@dataclass(frozen=True)
class JobAddresses:
    """Where this server publishes jobs' HTTP ports.

    Args:
        public_url: the server's URL as browsers reach it, ``base_url``
            included, ending in ``/``; empty while unknown.
        base_url: the server's ``base_url``: the paths the proxy serves.
        host_template: jobs on hosts of their own, if the deployment has them.
        jobs_path: where the proxy serves jobs by path, relative to
            ``base_url`` (``jobs`` on the JupyterHub jobs service).
    """

    public_url: str = ""
    base_url: str = "/"
    host_template: HostTemplate | None = None
    jobs_path: str = JOBS_PATH

    def visit(self, host_name: str, path: str) -> Visit | None:
        """The job a request for ``host_name`` (no port) and ``path`` (no query) is for.

        A host the template names wins; else a path under :attr:`jobs_path`.
        None where neither names a job.
        """
        if self.host_template is not None:
            ref = self.host_template.ref_of(host_name)
            if ref is not None:
                return Visit(ref, "", path if path.startswith("/") else "/" + path)
        start = f"{self.base_url}{self.jobs_path}/"
        if not path.startswith(start):
            return None
        raw_ref, _, rest = path[len(start) :].partition("/")
        if not raw_ref:
            return None
        return Visit(unquote(raw_ref), start + raw_ref, "/" + rest)

    def forwarded(self, job: Job, visit: Visit) -> tuple[str, str]:
        """What a job receives of a visit: the path prefix stripped before it,
        and the one its paths start with instead.

        A ``keep_prefix`` job is served under its one prefix
        (``NEURO_JOB_HTTP_PREFIX``) whatever ref the visitor came by, and is
        told of no stripped prefix; any other job gets the path after the
        visitor's prefix. On a host of the job's own both are ``""``.
        """
        if not visit.prefix:
            return "", ""
        assert job.spec.http is not None
        if job.spec.http.keep_prefix:
            return "", self.prefix(job)
        return visit.prefix, ""

    def own_host(self, job: Job) -> str | None:
        """The host of the job's own origin, where it has one."""
        if job.spec.http is None or self.host_template is None:
            return None
        return self.host_template.host_for(job)

    def prefix(self, job: Job) -> str:
        """The path prefix the job is served under: ``""`` on a host of its own."""
        if self.own_host(job) is not None:
            return ""
        return f"{self.base_url}{self.jobs_path}/{quote(job_http_ref(job), safe='-')}"

    def url(self, job: Job, root: str | None = None) -> str | None:
        """The job's public URL, or None without an HTTP port (or a root to hang it off).

        ``root`` is ``scheme://host{base_url}`` as a visitor reached the server
        (the API answers with it); by default :attr:`public_url`. A host of
        the job's own takes the root's scheme.
        """
        if job.spec.http is None:
            return None
        root = self.public_url if root is None else root
        host = self.own_host(job)
        if host is not None:
            return f"{urlsplit(root).scheme or 'http'}://{host}/"
        if not root:
            return None
        return f"{root}{self.jobs_path}/{quote(job_http_ref(job), safe='-')}/"

    def environment(self, job: Job) -> dict[str, str]:
        """``NEURO_JOB_HTTP_PREFIX`` and ``NEURO_JOB_HTTP_URL`` for a job with an HTTP port.

        Apps with a base-URL setting use the prefix (``keep_prefix`` jobs
        receive it in every path). The URL is left out while the public URL
        is unknown.
        """
        if job.spec.http is None:
            return {}
        env = {"NEURO_JOB_HTTP_PREFIX": self.prefix(job)}
        url = self.url(job)
        if url is not None:
            env["NEURO_JOB_HTTP_URL"] = url
        return env
