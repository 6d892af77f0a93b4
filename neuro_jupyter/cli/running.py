"""``run`` and ``attach``: start a job, show each pending change, then its output live.

Exit codes follow Neu.ro: an attached run exits with the job's exit code, and
125 when the job could not start (it ended before it ever ran). An interrupt
while attached detaches: the job goes on, and the command exits 0.
"""

from __future__ import annotations

import codecs
import shlex
import time
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..client import Job
from ..render import link_html, render_run_header, render_run_header_html
from .context import Context, Result, View

__all__ = [
    "EXIT_NOT_STARTED",
    "AttachCommand",
    "RunCommand",
    "exit_code_of",
    "stream_logs",
    "wait_started",
]

EXIT_NOT_STARTED = 125
"""Neu.ro's EX_PLATFORMERROR: the job never ran."""


@dataclass(frozen=True)
class RunCommand:
    """``run [OPTIONS] IMAGE [CMD...]``: what to start and how to follow it."""

    image: str
    command: tuple[str, ...] = ()
    preset: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    volumes: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    http_port: int | None = None
    http_auth: bool = True
    keep_prefix: bool = False
    life_span: str | None = None
    restart: str | None = None
    share: tuple[str, ...] = ()
    detach: bool = False
    browse: bool = False
    #: Notebooks only: the magics show a JobMonitor; a terminal follows as text.
    widget: bool = False
    #: The port came as ``--http``, Neu.ro's deprecated spelling: warn, as Neu.ro does.
    old_http: bool = False

    def spec(self, default_life_span: str | None = None) -> dict[str, Any]:
        """The REST job spec (``POST jobs``); unset fields are left to the server.

        One command word is sent as is; several are joined with shell quoting.
        """
        command = self.command[0] if len(self.command) == 1 else shlex.join(self.command)
        http = None
        if self.http_port is not None:
            http = {"port": self.http_port, "auth": self.http_auth, "keep_prefix": self.keep_prefix}
        spec: dict[str, Any] = {
            "image": self.image,
            "command": command or None,
            "preset": self.preset,
            "name": self.name,
            "tags": list(self.tags) or None,
            "description": self.description,
            "volumes": list(self.volumes) or None,
            "env": dict(self.env) or None,
            "workdir": self.workdir,
            "http": http,
            "life_span": self.life_span or default_life_span,
            "restart": self.restart,
            "share": list(self.share) or None,
        }
        return {key: value for key, value in spec.items() if value is not None}

    def execute(self, ctx: Context) -> Result:
        """Start the job, print its header and pending changes, then follow it."""
        if self.widget and not ctx.in_notebook:
            ctx.out.error("--widget shows a monitor in a notebook: following the job as text")
        if self.old_http:
            ctx.out.error("--http is deprecated: use --http-port")
        job = ctx.client.run(self.spec(ctx.user_config.life_span))
        ctx.out.show(View(render_run_header(job, ctx.prog), render_run_header_html(job, ctx.prog)))
        try:
            job = wait_started(ctx, job)
        except KeyboardInterrupt:
            return detached(ctx, job)
        if not _ever_ran(job):
            return Result(EXIT_NOT_STARTED, job)
        if self.browse and job.http_url:
            browse(ctx, job.http_url)
        if self.detach:
            return Result(0, job)
        return attached(ctx, job)


@dataclass(frozen=True)
class AttachCommand:
    """``attach JOB``: wait while it is pending, then its output until it ends."""

    job: str

    def execute(self, ctx: Context) -> Result:
        """Follow the job as an attached ``run`` does."""
        job = ctx.client.job(self.job)
        try:
            job = wait_started(ctx, job)
        except KeyboardInterrupt:
            return detached(ctx, job)
        if not _ever_ran(job):
            return Result(EXIT_NOT_STARTED, job)
        return attached(ctx, job)


def _ever_ran(job: Job) -> bool:
    return any(item.status == "running" for item in job.history) or job.status == "running"


def _status_line(status: str, reason: str, description: str) -> str:
    line = f"Status: {status}"
    if reason:
        line += f" {reason}"
    if description:
        line += f" ({description})"
    return line + "\n"


def wait_started(ctx: Context, job: Job) -> Job:
    """Poll the job while it is pending, writing each change of its history
    (``Status: pending Scheduling``, ...) up to the first status after pending."""
    shown = 0
    while True:
        for item in job.history[shown:]:
            ctx.out.write(_status_line(item.status, item.reason, item.description))
            if item.status != "pending":
                return job
        shown = len(job.history)
        if job.status != "pending":
            return job
        time.sleep(ctx.poll)
        job = ctx.client.job(job.id)


def exit_code_of(job: Job) -> int:
    """The exit code a finished job gives the command: its own (a signal ``-N``
    becomes ``128+N``), else 0 when it succeeded, else 125."""
    code = job.exit_code
    if code is None:
        return 0 if job.status == "succeeded" else EXIT_NOT_STARTED
    return 128 - code if code < 0 else code


def attached(ctx: Context, job: Job) -> Result:
    """Stream the job's output until it ends; an interrupt detaches, leaving it running."""
    what = "Interrupt the kernel" if ctx.in_notebook else "Use Ctrl-C"
    ctx.out.write(
        "Terminal is attached to the remote job, so you receive the job's output.\n"
        f"{what} to detach (it will NOT terminate the job), "
        "or restart the job with `--detach` option.\n"
    )
    ref = job.name or job.id
    try:
        stream_logs(ctx, job.id, follow=True)
        job = ctx.client.wait_for(job.id, lambda j: j.is_finished, poll=ctx.poll)
    except KeyboardInterrupt:
        return detached(ctx, job)
    if job.status != "succeeded":
        ctx.out.error(f"Job {ref} {_finish_words(job)}")
    return Result(exit_code_of(job), job)


def detached(ctx: Context, job: Job) -> Result:
    """Say that the job goes on without us (an interrupt never kills it); exit 0."""
    ref = job.name or job.id
    ctx.out.write(
        f"\nDetached from job {ref}: it goes on running. "
        f"`{ctx.prog} attach {ref}` follows it again, `{ctx.prog} kill {ref}` stops it.\n"
    )
    return Result(0, job)


def _finish_words(job: Job) -> str:
    words = job.status
    if job.reason:
        words += f" ({job.reason})"
    if job.status_description:
        words += f": {job.status_description}"
    return words


def stream_logs(
    ctx: Context, ref: str, *, follow: bool, since: str | None = None, timestamps: bool = False
) -> None:
    """Write the job's output as it comes: bytes decoded as UTF-8 incrementally
    (a character split across chunks stays whole), ``\\r`` kept."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: Iterator[bytes] = ctx.client.logs(
        ref, follow=follow, since=since, timestamps=timestamps
    )
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                ctx.out.write(text)
        tail = decoder.decode(b"", final=True)
        if tail:
            ctx.out.write(tail)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def browse(ctx: Context, url: str) -> None:
    """Open ``url``: a link in a notebook (the kernel's machine has no browser
    for the user), the default web browser in a terminal."""
    if ctx.in_notebook:
        ctx.out.show(View(f"Http URL: {url}\n", f"Http URL: {link_html(url)}"))
        return
    ctx.out.write(f"Opening {url} in a web browser\n")
    webbrowser.open(url)
