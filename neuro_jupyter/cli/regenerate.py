"""``job generate-run-command``: a ``run`` line that recreates a job, shell-quoted."""

from __future__ import annotations

import shlex

from ..client import Job
from ..jobs.errors import InvalidSpec
from ..jobs.parse import command_argv, format_duration

__all__ = ["run_command_line"]


def _options(job: Job) -> list[str]:
    words = ["--preset", job.preset]
    if job.name:
        words += ["--name", job.name]
    for tag in job.tags:
        words += ["--tag", tag]
    if job.description:
        words += ["--description", job.description]
    for volume in job.volumes:
        words += ["--volume", volume]
    for key, value in job.env.items():
        words += ["--env", f"{key}={value}"]
    if job.workdir:
        words += ["--workdir", job.workdir]
    if job.http_port is not None:
        words += ["--http-port", str(job.http_port)]
        if not job.http_auth:
            words.append("--no-http-auth")
        if job.raw.get("http", {}).get("keep_prefix"):
            words.append("--keep-prefix")
    words += ["--life-span", format_duration(job.life_span)]
    if job.restart and job.restart != "never":
        words += ["--restart", job.restart]
    return words


def run_command_line(job: Job, prog: str = "neuro-jupyter") -> str:
    """``PROG run OPTIONS IMAGE [-- CMD...]`` for ``job``: every option of its
    spec, so that running the line starts the same job again."""
    words = [*_options(job), job.image]
    if job.command:
        try:
            command = command_argv(job.command)
        except InvalidSpec:
            command = [job.command]
        words += ["--", *command]
    return f"{prog} run " + shlex.join(words)
