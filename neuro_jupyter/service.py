"""JobService: the only way in from handlers (DESIGN.md §1).

It is the sole holder of the store and the backend: it validates through the
domain rules, checks permissions, writes records and asks the backend to act.
It raises domain errors only (``jobs.errors``), never HTTP ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from .backends.base import (
    Backend,
    Endpoint,
    ExecSession,
    LogChunk,
    StatusEvent,
    TelemetrySample,
    ZeroCopyLogs,
)
from .feed import JobFeed
from .jobs.addresses import JobAddresses, Visit
from .jobs.env import SECRET_FIELD, parse_secret_env
from .jobs.errors import (
    Conflict,
    IllegalTransition,
    InvalidSpec,
    LoginRequired,
    NotFound,
    Unavailable,
)
from .jobs.limits import Limits
from .jobs.model import (
    Job,
    JobSpec,
    JobStatus,
    ListJobsQuery,
    Permission,
    Preset,
    Reason,
    Share,
    StatusItem,
)
from .jobs.parse import (
    command_argv,
    parse_grantee,
    parse_job_ref,
    parse_job_spec,
    parse_life_span,
    spec_fields,
)
from .jobs.permissions import not_found, permission_of, require
from .jobs.presets import find_preset
from .store import JobStore

__all__ = ["JobService"]

log = logging.getLogger(__name__)

T = TypeVar("T")

OPENED_FOR = 1.0
"""Seconds the proxy may reuse a visitor's access to a job without a store read."""
OPENED_MAX = 4096
"""Remembered (visitor, groups, job) answers before the memory is cleared."""


class JobService:
    """Jobs for users: create, find, watch, kill, rerun, share.

    Args:
        store: the job registry.
        backend: the runtime that runs jobs.
        presets: the presets users may choose from; the first is the default
            unless ``default_preset`` names another.
        cluster: the name shown as the job's cluster.
        default_life_span: seconds, for specs that give none (0 = no limit).
        life_span_check_interval: how often running time is compared with
            each job's life span.
        addresses: where jobs' HTTP ports are published (see :meth:`publish`).
        limits: the largest request of each kind accepted (issue 14).
    """

    def __init__(
        self,
        store: JobStore,
        backend: Backend,
        presets: Sequence[Preset],
        *,
        default_preset: str | None = None,
        cluster: str = "local",
        default_life_span: int = 86400,
        life_span_check_interval: float = 1.0,
        addresses: JobAddresses | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not presets:
            raise ValueError("at least one preset is needed")
        self.store = store
        self.backend = backend
        self.presets = tuple(presets)
        self.default_preset = default_preset or self.presets[0].name
        find_preset(self.presets, self.default_preset)
        self.cluster = cluster
        self.default_life_span = default_life_span
        self.life_span_check_interval = life_span_check_interval
        self.limits = limits or Limits()
        self.addresses = addresses or backend.addresses
        backend.addresses = self.addresses
        # Set on every recorded change, then replaced: waiters take the current
        # one before they look, so no change slips between look and wait.
        self._changed = asyncio.Event()
        # Every change, for `GET events` readers (issue 12).
        self.feed = JobFeed()
        self._tasks: list[asyncio.Task[None]] = []
        self._started: asyncio.Task[None] | None = None
        self._life_span_asked: set[str] = set()
        # Jobs the proxy let a visitor open, keyed by (visitor, their hub
        # groups, ref), with the store's write count and the time: every
        # proxied request would otherwise read the job and its shares again.
        # The groups are in the key so that leaving a group ends access at once.
        self._opened: dict[tuple[str | None, frozenset[str], str], tuple[int, float, Job]] = {}
        # Each user's JupyterHub groups, as the hub last said them (issue 9).
        self._groups: dict[str, frozenset[str]] = {}
        # The registry writes of creating jobs and of their status changes run
        # here, one at a time and in order, off the event loop (issue 14): the
        # three commits of a largest job took ~4 ms there, and a user creating
        # such jobs back to back held every other request up by as much.
        # SQLite commits without the GIL. Shares and life-span bumps, one
        # small row each, still write on the loop.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="neuro-store-writer")

    # -- lifecycle --------------------------------------------------------

    async def ready(self) -> None:
        """Start once: set the backend up, adopt live jobs, start the loops.

        Safe to await from every request: only the first call does the work.
        """
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        if self._started.done():  # every request but the first few: no shield to make
            self._started.result()
            return
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.backend.setup()
        self._tasks.append(asyncio.ensure_future(self._events_loop()))
        await self.backend.reconcile(self.store.live_jobs())
        self._tasks.append(asyncio.ensure_future(self._life_span_loop()))

    async def close(self) -> None:
        """End the event streams, stop the loops and the backend; jobs keep running."""
        await self.feed.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._started is not None:
            await self.backend.shutdown()
        self._writer.shutdown(wait=True)
        self.store.close()

    async def _written(self, write: Callable[..., T], *args: Any) -> T:
        """``write(*args)`` run in the store's writer thread; its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(write, *args))

    async def _events_loop(self) -> None:
        async for event in self.backend.events():
            try:
                await self._apply(event)
            except Exception:
                log.exception("could not record %s for %s", event.item, event.job_id)

    async def _apply(self, event: StatusEvent) -> None:
        store = self.store
        try:
            job = await self._written(
                store.append_status, event.job_id, event.item, event.backend_state
            )
        except IllegalTransition:
            # A late report about a job that already finished (e.g. an exit
            # racing a kill): the first word stands.
            log.debug("ignored %s for %s", event.item, event.job_id)
            if event.backend_state is not None:
                await self._written(store.set_backend_state, event.job_id, event.backend_state)
        else:
            before = job.history[-2].status if len(job.history) > 1 else None
            self._published(job, before)
        if event.item.status.is_finished:
            self._life_span_asked.discard(event.job_id)
        self._changed.set()
        self._changed = asyncio.Event()

    async def _life_span_loop(self) -> None:
        while True:
            try:
                await self._end_expired_jobs()
            except Exception:
                log.exception("life span check failed")
            await asyncio.sleep(self.life_span_check_interval)

    async def _end_expired_jobs(self) -> None:
        # Running jobs only, read in a thread: reading every live job on the
        # loop each second took ~110 ms once a thousand large jobs were
        # queued (issue 14).
        for job in await asyncio.to_thread(self.store.running_jobs):
            limit = job.spec.life_span
            if (
                job.status is JobStatus.RUNNING
                and limit > 0
                and job.run_time() >= limit
                and job.id not in self._life_span_asked
            ):
                self._life_span_asked.add(job.id)
                log.info("job %s reached its life span of %ss", job.id, limit)
                await self.backend.kill(job, Reason.LIFE_SPAN_ENDED)

    async def wait_for(self, job_id: str, predicate: Callable[[Job], bool], timeout: float) -> Job:
        """Wait until the stored job satisfies ``predicate``; the job then.

        Raises:
            TimeoutError: it did not within ``timeout`` seconds.
        """

        async def wait() -> Job:
            while True:
                changed = self._changed
                job = self.store.get(job_id)
                if job is None:
                    raise NotFound(f"job {job_id} not found")
                if predicate(job):
                    return job
                await changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    # -- addresses --------------------------------------------------------

    def publish(self, addresses: JobAddresses) -> None:
        """Publish jobs' HTTP ports at ``addresses`` from now on.

        The API's URLs follow at once; the backend gives jobs it starts from
        now on their URL and prefix (a running job keeps its environment).
        A server calls this again once its port is final.
        """
        self.addresses = addresses
        self.backend.addresses = addresses

    def http_url(self, job: Job, root: str | None = None) -> str | None:
        """The job's public URL (None without an HTTP port).

        ``root`` is the server's root as a visitor reached it
        (``scheme://host{base_url}``); by default the published public URL.
        """
        return self.addresses.url(job, root)

    # -- presets ----------------------------------------------------------

    def spec_fields(self) -> list[dict[str, Any]]:
        """The job-spec fields, described, with this service's defaults and presets."""
        return spec_fields(
            default_preset=self.default_preset,
            default_life_span=self.default_life_span,
            presets=[p.name for p in self.list_presets()],
        )

    def required_fields(self) -> tuple[str, ...]:
        """Job-spec fields the backend needs beyond ``image`` (the local one: ``command``)."""
        return tuple(getattr(self.backend, "required_fields", ()))

    def preset_refusal(self, preset: Preset) -> str | None:
        """Why the backend can never run ``preset`` (too big for this machine),
        or None; backends that cannot tell (a cluster that scales) say None."""
        refusal = getattr(self.backend, "preset_refusal", None)
        return None if refusal is None else refusal(preset)

    def list_presets(self) -> list[Preset]:
        """The presets users may choose from, default first."""
        default = find_preset(self.presets, self.default_preset)
        return [default, *(p for p in self.presets if p is not default)]

    # -- jobs -------------------------------------------------------------

    async def create(self, user: str, data: Mapping[str, Any]) -> Job:
        """Validate a REST job spec and start the job; the new record.

        Nothing is stored unless every rule and the backend's check pass.
        ``secret_env`` in ``data`` reaches the job's process only (never the
        record: a notebook server's hub credentials).

        Raises:
            InvalidSpec: bad input, naming the field and the rule.
            Conflict: ``user`` has a live job of that name.
        """
        data = dict(data)
        secret_env = parse_secret_env(
            data.pop(SECRET_FIELD, None), self.limits.env_entries, self.limits.env_size
        )
        spec = parse_job_spec(
            data,
            default_preset=self.default_preset,
            default_life_span=self.default_life_span,
            limits=self.limits,
        )
        return await self._launch(user, spec, secret_env)

    async def _launch(
        self, user: str, spec: JobSpec, secret_env: Mapping[str, str] | None = None
    ) -> Job:
        await self.ready()
        preset = find_preset(self.presets, spec.preset)
        shares = spec.share  # parsed with the spec (grantees, no duplicates)
        if user in shares:
            raise InvalidSpec("share", "a job cannot be shared with its owner")
        self.backend.check(user, spec, preset)
        job = Job.create(user, spec, preset, cluster=self.cluster, runtime=self.backend.runtime)
        # Neu.ro's `run --share` grants write. Stored before the start: the
        # unique live name is decided by this insert.
        grants = [Share(user, job.id, other, Permission.WRITE) for other in shares]
        await self._written(self.store.add, job, grants)
        try:
            await self.backend.start(job, secret_env or None)
        except Exception as exc:
            log.exception("backend could not start %s", job.id)
            item = StatusItem(JobStatus.FAILED, Reason.CANNOT_RUN, f"could not start: {exc}")
            await self._written(self.store.append_status, job.id, item)
            return self._published(self._get(job.id), None)
        # The record as added, without a re-read (~1 ms): the backend reports
        # progress as events, applied to the store after start() returns.
        return self._published(job, None)

    def _published(self, job: Job, previous: JobStatus | None) -> Job:
        """Tell `GET events` readers about ``job`` as now stored; ``job``.

        ``previous`` is its status before the change: None for a new job, the
        same status for a change that is no status change.
        """
        self.feed.publish(job, previous)
        return job

    def visible(self, user: str, job: Job) -> bool:
        """Whether ``user`` may see ``job`` (own, or shared with them or a hub group)."""
        if job.owner == user:
            return True
        shares = self._shares_read_lazily(job)
        return permission_of(job, user, shares, groups=self.groups_of(user)) is not None

    # -- hub groups ---------------------------------------------------------

    def observe_groups(self, user: str, groups: Iterable[str]) -> None:
        """Record ``user``'s JupyterHub groups as the hub just said them.

        The hub's jobs service calls this on every authenticated request,
        before any other call for that user; every permission check then uses
        these groups, so a user taken out of a group loses what was shared
        with it on their next request. Kept in memory only: the hub owns groups.
        """
        observed = frozenset(groups)
        if observed:
            self._groups[user] = observed
        else:
            self._groups.pop(user, None)

    def groups_of(self, user: str) -> frozenset[str]:
        """``user``'s hub groups as last observed; empty for a user never
        observed (always, on a plain single-user server)."""
        return self._groups.get(user, frozenset())

    def _get(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job

    def resolve(self, user: str, ref: str, action: str = "view") -> Job:
        """The job ``ref`` names (id, own name, ``name--owner``), if ``user`` may act.

        Raises:
            InvalidSpec: ``ref`` is not a job reference.
            NotFound: no such job, or one ``user`` may not see.
            Forbidden: ``user`` sees it but may not do ``action``.
        """
        job = self._find(ref, user)
        if job is None:
            raise not_found(ref)
        shares = self._shares_read_lazily(job)
        require(job, user, shares, action, ref=ref, groups=self.groups_of(user))
        return job

    def _shares_read_lazily(self, job: Job) -> Iterator[Share]:
        """The job's shares, read from the store only once iterated.

        The permission rules never look at them for the owner, whose requests
        then cost no read (~0.4 ms each).
        """
        yield from self.store.shares_for(job)

    def _find(self, ref: str, user: str | None = None) -> Job | None:
        """The job ``ref`` names, with no permission check; a bare name is ``user``'s."""
        parsed = parse_job_ref(ref)
        if parsed.kind == "id":
            return self.store.get(parsed.value)
        owner = parsed.owner or user
        return None if owner is None else self.store.find_by_name(owner, parsed.value)

    def list_jobs(self, query: ListJobsQuery) -> list[Job]:
        """The jobs ``query.viewer`` may see that match the query, newest first.

        The viewer's hub groups are the observed ones (:meth:`groups_of`),
        whatever ``query.groups`` says: a caller cannot widen what is visible.
        """
        query = dataclasses.replace(query, groups=self.groups_of(query.viewer))
        return self.store.list(query)

    async def list_page_in_thread(
        self, query: ListJobsQuery, max_bytes: int
    ) -> tuple[list[Job], bool]:
        """:meth:`list_jobs` as far as ``max_bytes`` of stored specs (see
        :meth:`JobStore.list_page`), read in a worker thread; the jobs, and
        whether reading stopped at ``max_bytes``.

        A page of 100 of the largest jobs accepted is ~14 MB of rows and took
        55 ms to read and decode on the event loop (issue 14); SQLite reads
        without the GIL, so other requests go on meanwhile.
        """
        query = dataclasses.replace(query, groups=self.groups_of(query.viewer))
        return await asyncio.to_thread(self.store.list_page, query, max_bytes)

    async def kill(self, user: str, ref: str, wait: float = 0.0) -> Job:
        """Kill a job (idempotent); the record, after up to ``wait`` seconds for the end."""
        await self.ready()
        job = self.resolve(user, ref, "kill")
        if not job.status.is_finished:
            await self.backend.kill(job, Reason.USER_REQUESTED)
            if wait > 0:
                try:
                    return await self.wait_for(job.id, lambda j: j.status.is_finished, wait)
                except TimeoutError:
                    pass
        return self._get(job.id)

    async def rerun(self, user: str, ref: str) -> Job:
        """A new job, owned by ``user``, from the stored spec of ``ref``."""
        job = self.resolve(user, ref, "view")
        if job.name is not None and job.owner == user and job.status.is_live:
            raise Conflict(f"job '{job.name}' is still {job.status.value}: kill it first")
        return await self._launch(user, job.spec)

    def bump_life_span(self, user: str, ref: str, add: str | int | float) -> Job:
        """Add running time to a job's life span (a job with no limit keeps none)."""
        job = self.resolve(user, ref, "bump_life_span")
        extra = parse_life_span(add)
        if extra <= 0:
            raise InvalidSpec("add", "the life span can only be bumped by a positive duration")
        if job.status.is_finished:
            raise Conflict(f"job {ref} is {job.status.value}: its life span is over")
        if job.spec.life_span == 0:
            return job
        spec = dataclasses.replace(job.spec, life_span=job.spec.life_span + extra)
        self._life_span_asked.discard(job.id)
        updated = self.store.update_spec(job.id, spec)
        return self._published(updated, updated.status)

    def logs(
        self,
        user: str,
        ref: str,
        *,
        follow: bool = False,
        since: datetime | None = None,
        timestamps: bool = False,
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The job's output as written (the last ``tail`` lines on); with
        ``follow``, until it ends."""
        job = self.resolve(user, ref, "logs")
        return self.backend.logs(job, follow=follow, since=since, timestamps=timestamps, tail=tail)

    def log_stream(
        self,
        user: str,
        ref: str,
        *,
        follow: bool = False,
        since: datetime | None = None,
        timestamps: bool = False,
        tail: int | None = None,
        start: int | None = None,
    ) -> AsyncIterator[LogChunk]:
        """As :meth:`logs`, with file regions where the backend's logs are files.

        For senders that can pass a file straight to a socket (the REST API).
        ``start`` (a byte offset from :meth:`log_start`) replaces ``tail``.
        """
        job = self.resolve(user, ref, "logs")
        if isinstance(self.backend, ZeroCopyLogs) and since is None and not timestamps:
            return self.backend.log_regions(job, follow=follow, tail=tail, start=start)
        return self.backend.logs(job, follow=follow, since=since, timestamps=timestamps, tail=tail)

    async def log_start(self, user: str, ref: str, tail: int | None) -> int | None:
        """The byte offset a read of the log from its last ``tail`` lines
        starts at, for paging back (:meth:`log_part`); None where the
        backend's logs are not files (a cluster's)."""
        job = self.resolve(user, ref, "logs")
        if not isinstance(self.backend, ZeroCopyLogs):
            return None
        return await asyncio.to_thread(self.backend.log_start, job, tail)

    async def log_part(self, user: str, ref: str, before: int, limit: int) -> tuple[int, bytes]:
        """Up to ``limit`` bytes of the log ending at byte ``before``, from a
        line's start, and the offset they start at (issue 12: a page shows
        the tail first and earlier parts as the reader scrolls up). Read in a
        worker thread; ``limit`` as :func:`~.jobs.query.parse_log_part` bounds it.

        Raises:
            InvalidSpec: ``before``: the backend's logs are not files (a cluster's).
        """
        job = self.resolve(user, ref, "logs")
        if not isinstance(self.backend, ZeroCopyLogs):
            raise InvalidSpec("before", "this backend's logs cannot be read by offset; use tail")
        return await asyncio.to_thread(self.backend.log_part, job, before, limit)

    def telemetry(
        self, user: str, ref: str, interval: float = 1.0
    ) -> AsyncIterator[TelemetrySample]:
        """Resource-use samples while the job runs."""
        job = self.resolve(user, ref, "top")
        return self.backend.telemetry(job, interval)

    async def exec(
        self, user: str, ref: str, command: str | Sequence[str], *, tty: bool = False
    ) -> ExecSession:
        """Run a command inside a running job."""
        job = self.resolve(user, ref, "exec")
        argv = command_argv(command) if isinstance(command, str) else list(command)
        if not argv:
            raise InvalidSpec("command", "give the command to run in the job")
        if job.status is not JobStatus.RUNNING:
            raise Conflict(f"job {ref} is {job.status.value}, not running")
        return await self.backend.exec(job, argv, tty=tty)

    async def endpoint(self, job: Job) -> Endpoint | None:
        """Where the proxy reaches an already resolved job's HTTP port."""
        return await self.backend.endpoint(job)

    async def proxy_target(self, user: str | None, ref: str) -> tuple[Job, Endpoint]:
        """The job ``ref`` names and where its HTTP port is, if ``user`` may open it.

        ``user`` is None for a visitor who is not logged in. A job started
        with ``http.auth`` false is public; any other needs its owner or a
        share (read or more). The endpoint comes from the job record and the
        backend only, never from the caller.

        Raises:
            LoginRequired: an anonymous visitor and a job that is not public
                (or no such job: existence is not revealed before login).
            NotFound: a logged-in user the job is not shared with.
            Unavailable: the job is not running or exposes no HTTP port.
            InvalidSpec: ``ref`` is not a job reference.
        """
        await self.ready()
        job = self._openable(user, ref)
        endpoint = await self.backend.endpoint(job)
        if endpoint is None:
            raise Unavailable(f"job {ref} is not serving HTTP now")
        return job, endpoint

    async def forward_target(
        self, user: str | None, host_name: str, path: str
    ) -> tuple[Job, Endpoint, Visit]:
        """:meth:`proxy_target` for the job a request's host and path name
        (forward-auth for an ingress, issue 11): the same rule, one answer.

        Raises:
            LoginRequired, Unavailable: as :meth:`proxy_target`.
            NotFound: no job is published at that host and path, ``ref`` is
                no job reference, or as :meth:`proxy_target`.
        """
        visit = self.addresses.visit(host_name, path)
        if visit is None:
            raise NotFound("no job is published at this address")
        try:
            job, endpoint = await self.proxy_target(user, visit.ref)
        except InvalidSpec:
            raise not_found(visit.ref) from None
        return job, endpoint, visit

    def _openable(self, user: str | None, ref: str) -> Job:
        """The running job ``user`` may open, remembered until the store changes.

        A remembered answer also ends after :data:`OPENED_FOR` seconds, for
        changes written by another server sharing the database.
        """
        now = time.monotonic()
        groups = frozenset() if user is None else self.groups_of(user)
        key = (user, groups, ref)
        opened = self._opened.get(key)
        if opened is not None and opened[0] == self.store.writes and now - opened[1] < OPENED_FOR:
            return opened[2]
        writes = self.store.writes
        job = self._find(ref, user)
        public = job is not None and job.spec.http is not None and not job.spec.http.auth
        if not public:
            if user is None:
                raise LoginRequired(f"log in to open job {ref}")
            if job is None:
                raise not_found(ref)
            shares = self._shares_read_lazily(job)
            require(job, user, shares, "browse", ref=ref, groups=groups)
        assert job is not None
        if job.spec.http is None:
            raise Unavailable(f"job {ref} exposes no HTTP port")
        if job.status is not JobStatus.RUNNING:
            raise Unavailable(f"job {ref} is {job.status.value}, not running")
        if len(self._opened) >= OPENED_MAX:
            self._opened.clear()
        self._opened[key] = (writes, now, job)
        return job

    # -- sharing ----------------------------------------------------------

    def shares(self, user: str, ref: str) -> list[Share]:
        """Who else may act on the job (the job's own grants and its name's);
        a grantee is a user or ``group:NAME``."""
        job = self.resolve(user, ref, "view")
        return self.store.shares_for(job)

    def share(self, user: str, ref: str, other: str, level: Permission) -> Share:
        """Grant ``other`` ``level`` on the job; a name ref shares the name.

        ``other`` is a user name, or ``group:NAME`` for every member of the
        hub group NAME. Sharing by name, as in Neu.ro, also covers later jobs
        of that name.

        Raises:
            InvalidSpec: ``user`` field: ``other`` is no grantee, or the owner.
            NotFound, Forbidden: as :meth:`resolve` for the ``share`` action.
        """
        job = self.resolve(user, ref, "share")
        other = parse_grantee(other, "user")
        if other == job.owner:
            raise InvalidSpec("user", "a job cannot be shared with its owner")
        target = job.id if parse_job_ref(ref).kind == "id" or job.name is None else job.name
        grant = Share(job.owner, target, other, level)
        self.store.put_share(grant)
        # The grantee's event streams show the job from now on.
        self._published(job, job.status)
        return grant

    def unshare(self, user: str, ref: str, other: str) -> None:
        """Revoke whatever ``other`` (a user or ``group:NAME``) was granted on
        the job, by id or by name."""
        job = self.resolve(user, ref, "share")
        removed = self.store.remove_share(job.owner, job.id, other)
        if job.name is not None:
            removed = self.store.remove_share(job.owner, job.name, other) or removed
        if not removed:
            raise NotFound(f"job {ref} is not shared with {other}")
