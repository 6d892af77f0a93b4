"""The commands that ask and show: ps, status, logs, top, kill, share, config,
browse, bump-life-span, generate-run-command. (``run``/``attach`` live in
:mod:`.running`, ``exec`` in :mod:`.execs`.)"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..jobs.errors import NeuroError
from ..render import (
    format_life_span,
    render_config_html,
    render_config_text,
    render_ps_html,
    render_ps_text,
    render_shares_html,
    render_shares_text,
    render_status_html,
    render_status_text,
    render_top_header,
    render_top_html,
    render_top_row,
)
from .context import Context, Result, View
from .regenerate import run_command_line
from .running import browse, stream_logs

__all__ = [
    "BrowseCommand",
    "BumpLifeSpanCommand",
    "ConfigShowCommand",
    "GenerateRunCommand",
    "KillCommand",
    "LogsCommand",
    "PsCommand",
    "ShareCommand",
    "StatusCommand",
    "TopCommand",
]


@dataclass(frozen=True)
class PsCommand:
    """``ps``: the jobs you may see; live ones unless ``statuses``/``all`` say otherwise."""

    statuses: tuple[str, ...] = ()
    all: bool = False
    owners: tuple[str, ...] = ()
    name: str | None = None
    tags: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    quiet: bool = False
    format: str | None = None

    def execute(self, ctx: Context) -> Result:
        """List the jobs: a table, or ids only with ``quiet``."""
        owners = [(ctx.me or "ME") if owner == "ME" else owner for owner in self.owners]
        jobs = ctx.client.jobs(
            status=self.statuses, all=self.all, owner=owners, name=self.name,
            tag=self.tags, since=self.since, until=self.until,
        )  # fmt: skip
        if self.quiet:
            ctx.out.write("".join(f"{job.id}\n" for job in jobs))
        else:
            fmt = self.format or ctx.user_config.ps_format
            ctx.out.show(View(render_ps_text(jobs, ctx.me, fmt), render_ps_html(jobs, ctx.me, fmt)))
        return Result(0, jobs)


@dataclass(frozen=True)
class StatusCommand:
    """``status JOB``: every field of the job and its status history."""

    job: str

    def execute(self, ctx: Context) -> Result:
        """Show the job."""
        job = ctx.client.job(self.job)
        ctx.out.show(View(render_status_text(job), render_status_html(job)))
        return Result(0, job)


@dataclass(frozen=True)
class LogsCommand:
    """``logs JOB``: the job's output so far, then live until it ends."""

    job: str
    since: str | None = None
    timestamps: bool = False

    def execute(self, ctx: Context) -> Result:
        """Stream the output; an interrupt stops following (the job goes on)."""
        try:
            stream_logs(ctx, self.job, follow=True, since=self.since, timestamps=self.timestamps)
        except KeyboardInterrupt:
            ctx.out.write("\n")
        return Result(0, None)


@dataclass(frozen=True)
class TopCommand:
    """``top JOB``: resource samples as they come, until the job ends or ``timeout`` s."""

    job: str
    timeout: float = 0.0

    def execute(self, ctx: Context) -> Result:
        """Stream the samples as table rows; returns them all."""
        samples = []
        deadline = time.monotonic() + self.timeout if self.timeout else None
        ctx.out.write(render_top_header())
        stream = ctx.client.top(self.job)
        try:
            for sample in stream:
                samples.append(sample)
                ctx.out.write(render_top_row(sample))
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if ctx.in_notebook and samples:
            ctx.out.show(View("", render_top_html(samples)))
        return Result(0, samples)


@dataclass(frozen=True)
class KillCommand:
    """``kill JOB...``: prints each killed id; exit 1 if any kill failed."""

    jobs: tuple[str, ...]

    def execute(self, ctx: Context) -> Result:
        """Kill each job in turn, going on past failures."""
        killed, failed = [], False
        for ref in self.jobs:
            try:
                job = ctx.client.kill(ref)
            except NeuroError as error:
                ctx.out.error(f"Cannot kill job {ref}: {error}")
                failed = True
                continue
            killed.append(job)
            ctx.out.write(f"{job.id}\n")
        return Result(1 if failed else 0, killed)


@dataclass(frozen=True)
class ShareCommand:
    """``share job:NAME USER LEVEL``; ``--revoke job:NAME USER``; ``--list job:NAME``."""

    action: str
    job: str
    user: str | None = None
    level: str | None = None

    def execute(self, ctx: Context) -> Result:
        """Grant, revoke or list."""
        if self.action == "list":
            shares = ctx.client.shares(self.job)
            ctx.out.show(View(render_shares_text(shares), render_shares_html(shares)))
            return Result(0, shares)
        assert self.user is not None
        if self.action == "revoke":
            ctx.client.unshare(self.job, self.user)
            ctx.out.write(f"Revoked {self.user}'s access to job {self.job}\n")
            return Result(0, None)
        assert self.level is not None
        share = ctx.client.share(self.job, self.user, self.level)
        ctx.out.write(
            f"Shared job {self.job} with {self.user} ({share.get('level', self.level)})\n"
        )
        return Result(0, share)


@dataclass(frozen=True)
class ConfigShowCommand:
    """``config show``: the user, the API address and the resource presets."""

    def execute(self, ctx: Context) -> Result:
        """Fetch the presets and show them as ``neuro config show`` does."""
        presets, default = ctx.client.presets()
        url = ctx.client.config.url
        ctx.out.show(
            View(
                render_config_text(ctx.me, url, presets, default),
                render_config_html(ctx.me, url, presets, default),
            )
        )
        return Result(0, presets)


@dataclass(frozen=True)
class BrowseCommand:
    """``browse JOB``: open the job's Http URL."""

    job: str

    def execute(self, ctx: Context) -> Result:
        """Open the URL, or say why there is none."""
        job = ctx.client.job(self.job)
        if not job.http_url:
            ctx.out.error(f"Job {self.job} has no Http URL: run it with --http-port PORT")
            return Result(1, job)
        browse(ctx, job.http_url)
        return Result(0, job)


@dataclass(frozen=True)
class BumpLifeSpanCommand:
    """``job bump-life-span JOB 2h``: lengthen a job's life span."""

    job: str
    add: str

    def execute(self, ctx: Context) -> Result:
        """Bump it and print the new limit."""
        job = ctx.client.bump_life_span(self.job, self.add)
        ctx.out.write(f"Life span of job {self.job} is now {format_life_span(job.life_span)}\n")
        return Result(0, job)


@dataclass(frozen=True)
class GenerateRunCommand:
    """``job generate-run-command JOB``: the ``run`` command that recreates the job."""

    job: str

    def execute(self, ctx: Context) -> Result:
        """Print the command line."""
        line = run_command_line(ctx.client.job(self.job), ctx.prog)
        ctx.out.write(line + "\n")
        return Result(0, line)
