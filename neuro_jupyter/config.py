"""NeuroJobs: the traits that choose the backend, presets, store and defaults.

A separate ``Configurable`` (made with ``parent=app``) so the JupyterHub jobs
service can share these traits with the server extension, as
jupyter-server-proxy does with ``ServerProxy``. Configure as
``c.NeuroJobs.presets = [...]``, ``c.NeuroJobs.db_url = "postgresql://..."``.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Dict, Float, Int, List, TraitError, Type, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .backends.base import Backend
from .jobs.addresses import JOBS_PATH, HostTemplate, JobAddresses
from .jobs.errors import InvalidSpec
from .jobs.limits import Limits
from .jobs.model import Preset
from .jobs.parse import parse_life_span
from .jobs.presets import local_presets, parse_preset
from .service import JobService
from .store import JobStore

__all__ = ["NeuroJobs"]


class NeuroJobs(LoggingConfigurable):
    """Configuration of the jobs service and the factory of :class:`JobService`."""

    backend_class = Type(
        klass=object,
        config=True,
        help="""The Backend that runs jobs: neuro_jupyter.backends.local.LocalBackend
        (default: supervised processes on this machine) or, on a cluster,
        neuro_jupyter.backends.kubernetes.KubernetesBackend.""",
    )

    @default("backend_class")
    def _default_backend_class(self) -> type:
        # Imported here so an unused backend is never imported.
        from .backends.local import LocalBackend

        return LocalBackend

    data_dir = Unicode(
        config=True,
        help="Folder for the job registry, job folders and storage (default: Jupyter's data dir).",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.path.join(jupyter_data_dir(), "neuro_jupyter")

    db_url = Unicode(
        config=True,
        help="""SQLAlchemy URL of the job registry: a SQLite file by default,
        e.g. postgresql+psycopg://user@host/db for a shared one.""",
    )

    @default("db_url")
    def _default_db_url(self) -> str:
        return JobStore.default_url(self.data_dir)

    storage_root = Unicode(
        config=True,
        help="""Root of users' storage: `storage:PATH` volumes of user U resolve
        under STORAGE_ROOT/U/PATH.""",
    )

    @default("storage_root")
    def _default_storage_root(self) -> str:
        return os.path.join(self.data_dir, "storage")

    presets = List(
        Dict(),
        config=True,
        help="""Presets as a list of dicts: {"name": "gpu-small", "cpu": 4,
        "memory": "16GB", "gpu": 1, "gpu_model": "nvidia-tesla-t4",
        "preemptible": false}. Empty (the default): sized from the backend's
        capacity (cpu-small, cpu-large, and GPU presets where GPUs exist).""",
    )

    default_preset = Unicode(
        "", config=True, help="Preset for jobs that name none (default: the first preset)."
    )

    cluster_name = Unicode("local", config=True, help="The cluster name shown on jobs.")

    local_user = Unicode(
        config=True,
        help="""Owner of jobs on a single-user server. jupyter_server's own token
        and password logins name no user (each request is an anonymous one), so
        there the one user is this name: $JUPYTERHUB_USER, else the OS user.
        Identity providers that name users (JupyterHub, custom) are used as is.""",
    )

    @default("local_user")
    def _default_local_user(self) -> str:
        try:
            fallback = getpass.getuser()
        except (KeyError, OSError):
            fallback = "user"
        return os.environ.get("JUPYTERHUB_USER") or fallback

    default_life_span = Unicode(
        "1d",
        config=True,
        help="Life span of jobs that give none (`2d3h20m` grammar, 0 = no limit).",
    )

    life_span_check_interval = Float(
        1.0, config=True, help="Seconds between checks of running jobs against their life span."
    )

    proxy_timeout = Float(
        30.0,
        config=True,
        help="""Seconds the job proxy waits for a job to answer (connect and
        response head; streamed bodies have no limit) before a 504. 0 = wait forever.""",
    )

    public_url = Unicode(
        "",
        config=True,
        help="""The server's URL as users' browsers reach it, base_url included,
        e.g. https://jupyter.example.com/user/alice/. Jobs get their URL under it
        in NEURO_JOB_HTTP_URL. Empty (the default): the server's own
        connection URL. (The API's http_url follows the address each request
        came to.)""",
    )

    job_host_template = Unicode(
        "",
        config=True,
        help="""Serve jobs from hosts of their own, e.g.
        "{name}--{owner}.jobs.example.com" (placeholders {name} and {owner}, or
        {id}; an optional :PORT at the end). Requests whose Host matches reach
        that job at the root of its own origin, so its pages need no sandbox;
        jobs the template cannot name (no name, or an owner that is not a DNS
        label) stay under {base_url}neuro/jobs/. Point wildcard DNS (and TLS)
        for the hosts at this server. Jupyter's login cookie is not sent to
        these hosts, so visitors arrive anonymous unless the deployment puts
        its own authentication in front: only public (--no-http-auth) jobs
        open to them; the owner and share rules apply as on paths to whoever
        the request authenticates as. Empty (the default): paths only.""",
    )

    jobs_service_url = Unicode(
        config=True,
        help="""On a JupyterHub: the hub's jobs service as users' servers reach
        it, prefix included (e.g. http://hub:10101/services/neuro/). A
        server that has it relays {base_url}neuro/api/ there, as its owner,
        and keeps no registry or backend of its own. Empty (the default):
        $NEURO_JOBS_SERVICE_URL, else the hub is asked for its service
        c.NeuroJobs.jobs_service_name; no such service, no relay.""",
    )

    @default("jobs_service_url")
    def _default_jobs_service_url(self) -> str:
        return os.environ.get("NEURO_JOBS_SERVICE_URL", "")

    jobs_service_name = Unicode(
        "neuro",
        config=True,
        help="""The JupyterHub service users' servers relay jobs to (found
        through the hub's API: the servers' token needs the scopes
        access:services!service=NAME and read:services!service=NAME, see
        c.Spawner.server_token_scopes). Empty: never look.""",
    )

    # Limits (issue 14): one user's request must not stall the server for
    # everyone, and a job accepted must be able to start. Each is answered
    # with a 400 (413 for the body) naming the limit.
    max_body_size = Int(
        Limits.body_size,
        config=True,
        help="Bytes of a REST request body (413 beyond).",
    )
    max_json_depth = Int(
        Limits.json_depth,
        config=True,
        help="Nesting of arrays and objects in a REST request body (a job spec needs 3).",
    )
    max_command_length = Int(
        Limits.command_length,
        config=True,
        help="""UTF-8 bytes of a job's command. Linux refuses one argument over
        128 KiB, so a `sh -c` command cannot be longer anyway.""",
    )
    max_env_entries = Int(
        Limits.env_entries, config=True, help="Environment variables in a job's env."
    )
    max_env_size = Int(
        Limits.env_size,
        config=True,
        help="""UTF-8 bytes of a job's env, counted as NAME=VALUE plus a NUL each.
        Linux passes at most 128 KiB per variable and 2 MiB of arguments and
        environment together (the server's own environment included), so a
        larger env could be accepted and never start.""",
    )
    max_volumes = Int(Limits.volumes, config=True, help="Volumes of one job.")
    max_tags = Int(Limits.tags, config=True, help="Tags of one job (Neu.ro: 16; at most 16).")
    max_shares = Int(Limits.shares, config=True, help="Users in one job spec's `share`.")
    max_page_size = Int(
        Limits.page_size,
        config=True,
        help="""Jobs in one `GET jobs` answer: a larger `limit` is served this
        many at a time, with a `next` cursor to the rest.""",
    )
    max_page_bytes = Int(
        Limits.page_bytes,
        config=True,
        help="""Bytes of one `GET jobs` answer: a page of large jobs ends
        early (at least one job), with a `next` cursor to the rest.""",
    )

    auth_cache_max_age = Int(
        5,
        config=True,
        help="""Seconds an ingress may keep an answer of the forward-auth endpoint
        (`GET neuro/api/v1/auth`, sent as `Cache-Control: private, max-age=N`
        and `X-Accel-Expires: N`): a kill, an unshare or a new share takes
        effect within this. 0: answers are not kept.""",
    )
    stream_keepalive = Float(
        15.0,
        config=True,
        help="""Seconds between keep-alive comments (`: ping`) of an idle
        server-sent-events stream (`top`, `events`, and `logs` asked for as
        `text/event-stream`), so proxies with a read timeout keep it.""",
    )

    gc_freeze_at_start = Bool(
        True,
        config=True,
        help="""Once the server has started, take what it made so far out of
        reach of Python's cyclic garbage collector (`gc.collect()`, then
        `gc.freeze()`): those objects live as long as the server anyway, and
        every full collection walked them all, stopping the whole server for
        100-175 ms (the job proxy's p99 was those pauses). False: leave the
        collector as it is.""",
    )

    thread_switch_interval = Float(
        0.001,
        config=True,
        help="""Seconds a thread may keep Python's GIL while another waits for it
        (`sys.setswitchinterval`), set for the whole server process when it runs
        jobs. Pages of large jobs and registry writes run in worker threads; with
        Python's default (0.005) the event loop waited up to that long at each of
        its system calls while one of them ran, and other users' requests took
        several times longer (issue 14). 0: leave Python's setting.""",
    )

    @validate(
        "max_body_size", "max_json_depth", "max_command_length", "max_env_entries",
        "max_env_size", "max_volumes", "max_tags", "max_shares", "max_page_size",
        "max_page_bytes",
    )  # fmt: skip
    def _validate_limit(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"c.NeuroJobs.{proposal['trait'].name} must be at least 1")
        return value

    def limits(self) -> Limits:
        """The configured limits."""
        return Limits(
            body_size=self.max_body_size,
            json_depth=self.max_json_depth,
            command_length=self.max_command_length,
            env_entries=self.max_env_entries,
            env_size=self.max_env_size,
            volumes=self.max_volumes,
            tags=min(self.max_tags, Limits.tags),
            shares=self.max_shares,
            page_size=self.max_page_size,
            page_bytes=self.max_page_bytes,
        )

    @validate("thread_switch_interval")
    def _validate_thread_switch_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise TraitError("c.NeuroJobs.thread_switch_interval must be 0 or more")
        return value

    @validate("auth_cache_max_age")
    def _validate_auth_cache_max_age(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError("c.NeuroJobs.auth_cache_max_age must be 0 or more")
        return value

    @validate("job_host_template")
    def _validate_job_host_template(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if value:
            try:
                HostTemplate.parse(value)
            except ValueError as exc:
                raise TraitError(f"c.NeuroJobs.job_host_template: {exc}") from None
        return value

    def job_addresses(
        self, base_url: str, server_url: str, jobs_path: str = JOBS_PATH
    ) -> JobAddresses:
        """Where the server at ``server_url`` (base_url included) publishes jobs.

        :attr:`public_url` wins over ``server_url`` where it is set;
        ``jobs_path`` is where the proxy serves them, relative to ``base_url``.
        """
        public = self.public_url or server_url
        if public and not public.endswith("/"):
            public += "/"
        template = self.job_host_template
        return JobAddresses(
            public_url=public,
            base_url=base_url,
            host_template=HostTemplate.parse(template) if template else None,
            jobs_path=jobs_path,
        )

    def make_backend(self, **defaults: Any) -> Backend:
        """The configured backend, a child of this configurable.

        ``defaults`` (``jobs_dir``, ``storage_root``, ``default_workdir``...)
        fill the backend's traits of those names that configuration left
        unset; traits the backend does not have are ignored.
        """
        cls: Any = self.backend_class
        configured = self.config.get(cls.__name__, {})
        own = {
            name: value
            for name, value in defaults.items()
            if cls.class_traits().get(name) is not None and name not in configured
        }
        backend: Backend = cls(parent=self, **own)
        return backend

    def configured_presets(self) -> list[Preset]:
        """``c.NeuroJobs.presets``, parsed (empty when none are configured).

        Raises:
            InvalidSpec: a preset breaks a rule.
        """
        return [parse_preset(str(p.get("name", "")), p) for p in self.presets]

    def make_presets(self, backend: Backend) -> list[Preset]:
        """The configured presets, or presets sized from ``backend``'s capacity."""
        if self.presets:
            return self.configured_presets()
        capacity = backend.capacity()
        return local_presets(int(capacity.cpu), capacity.memory, capacity.gpu_models)

    def make_service(self, **backend_kwargs: Any) -> JobService:
        """A JobService over the configured store, backend and presets.

        Raises:
            InvalidSpec: a configured preset or life span breaks a rule.
        """
        backend = self.make_backend(**backend_kwargs)
        try:
            life_span = parse_life_span(self.default_life_span)
        except InvalidSpec as exc:
            raise InvalidSpec("default_life_span", f"c.NeuroJobs.default_life_span: {exc}") from exc
        return JobService(
            JobStore(self.db_url),
            backend,
            self.make_presets(backend),
            default_preset=self.default_preset or None,
            cluster=self.cluster_name,
            default_life_span=life_span,
            life_span_check_interval=self.life_span_check_interval,
            limits=self.limits(),
        )
