"""The one argument grammar of ``neuro-jupyter ...`` and ``%neuro ...`` (DESIGN.md §1).

Neu.ro's words: options come before IMAGE and everything after IMAGE is the
job's command (a leading ``--`` is dropped). Values are checked by the domain
rules (:mod:`.values`), so bad input is a :class:`UsageError` — one usage line
and the message naming the rule — before any HTTP. The parser never exits:
``-h`` raises :class:`HelpRequested` with the help text, so a kernel survives it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from . import values
from .commands import (
    BrowseCommand,
    BumpLifeSpanCommand,
    ConfigShowCommand,
    GenerateRunCommand,
    KillCommand,
    LogsCommand,
    PsCommand,
    ShareCommand,
    StatusCommand,
    TopCommand,
)
from .context import Command
from .execs import ExecCommand
from .parser import Builder, CommandParser, HelpRequested, UsageError, subcommand
from .running import AttachCommand, RunCommand

__all__ = ["CommandParser", "HelpRequested", "UsageError", "build_parser", "parse_command"]


def _drop_dashes(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(words[1:] if words and words[0] == "--" else words)


def _build_run(ns: argparse.Namespace) -> Command:
    # As Neu.ro: --http-port 0 is no port, and then these options are errors.
    if ns.http_port is None and ns.http_auth is not None:
        ns._parser.error("--http-auth and --no-http-auth need --http-port PORT (not 0)")
    if ns.http_port is None and (ns.browse or ns.keep_prefix):
        ns._parser.error("--browse and --keep-prefix need --http-port PORT (not 0)")
    env: dict[str, str] = {}
    for file_env in ns.env_file:
        env.update(file_env)
    env.update(dict(ns.env))
    return RunCommand(
        image=ns.image, command=_drop_dashes(ns.cmd), preset=ns.preset, name=ns.name,
        tags=tuple(ns.tag), description=ns.description, volumes=tuple(ns.volume), env=env,
        workdir=ns.workdir, http_port=ns.http_port, http_auth=ns.http_auth is not False,
        keep_prefix=ns.keep_prefix, life_span=ns.life_span, restart=ns.restart,
        share=tuple(ns.share), detach=ns.detach, browse=ns.browse, widget=ns.widget,
        old_http=getattr(ns, "old_http", False),
    )  # fmt: skip


class _OldHttp(argparse.Action):
    """``--http PORT``: ``--http-port PORT``, remembered so that ``run`` warns."""

    def __call__(self, parser: Any, ns: argparse.Namespace, value: Any, option: Any = None) -> None:
        setattr(ns, self.dest, value)
        ns.old_http = True


def _add_run(subparsers: Any, name: str) -> argparse.ArgumentParser:
    p = subcommand(subparsers, name, "[OPTIONS] IMAGE [CMD...]", "Run a job", _build_run)
    p.add_argument("-s", "--preset", type=values.preset, help="resource preset (config show)")
    p.add_argument("-n", "--name", type=values.job_name, help="job name")
    p.add_argument("--tag", action="append", default=[], type=values.tag, help="a tag (repeatable)")
    p.add_argument("-d", "--description", type=values.description, help="free text")
    p.add_argument("-v", "--volume", action="append", default=[], type=values.volume,
                   metavar="MOUNT", help="storage:PATH:/mount[:ro|rw] (repeatable)")  # fmt: skip
    p.add_argument("-e", "--env", action="append", default=[], type=values.env_item,
                   metavar="VAR=VAL", help="VAR=VAL, or VAR from here (repeatable)")  # fmt: skip
    p.add_argument("--env-file", action="append", default=[], type=values.env_file,
                   metavar="PATH", help="VAR=VAL lines; -e overrides (repeatable)")  # fmt: skip
    p.add_argument("-w", "--workdir", type=values.workdir, help="working directory")
    p.add_argument("--http-port", type=values.http_port, metavar="PORT",
                   help="expose this HTTP port; 0 = none")  # fmt: skip
    # Neu.ro's deprecated alias: hidden from the help, accepted with a warning.
    p.add_argument("--http", dest="http_port", type=values.http_port, action=_OldHttp,
                   help=argparse.SUPPRESS)  # fmt: skip
    p.add_argument("--http-auth", dest="http_auth", action="store_true", default=None,
                   help="only you and users it is shared with open it (default)")  # fmt: skip
    p.add_argument("--no-http-auth", dest="http_auth", action="store_false",
                   help="anyone with the URL opens it")  # fmt: skip
    p.add_argument("--keep-prefix", action="store_true", help="pass the URL prefix to the job")
    p.add_argument("--browse", action="store_true", help="open the Http URL once running")
    p.add_argument("--detach", action="store_true", help="do not follow the job's output")
    p.add_argument("--widget", action="store_true",
                   help="in a notebook: show a live JobMonitor instead of text")  # fmt: skip
    p.add_argument("--life-span", type=values.life_span, help="e.g. 1d, 2h30m; 0 = no limit")
    p.add_argument("--restart", type=values.restart, metavar="never|on-failure|always")
    p.add_argument("--share", action="append", default=[], type=values.grantee, metavar="USER",
                   help="give USER, or hub group:NAME, write access (repeatable)")  # fmt: skip
    p.add_argument("image", type=values.image, metavar="IMAGE")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD")
    return p


_TIME_HELP = (
    "an ISO date or time (2024-05, 2024-05-01, 2024-05-01T12:00; your local "
    "time unless it has a zone such as Z or +02:00) or a duration ago (1d2h); "
    "empty = no filter"
)


def _build_ps(ns: argparse.Namespace) -> Command:
    return PsCommand(
        statuses=tuple(ns.status), all=ns.all, owners=tuple(ns.owner), name=ns.name,
        tags=tuple(ns.tag), since=ns.since, until=ns.until, quiet=ns.quiet, format=ns.format,
    )  # fmt: skip


def _add_ps(subparsers: Any, name: str) -> argparse.ArgumentParser:
    p = subcommand(subparsers, name, "[OPTIONS]", "List jobs (live ones by default)", _build_ps)
    p.add_argument("-s", "--status", action="append", default=[], type=values.status,
                   help="pending, running, succeeded, failed, cancelled (repeatable)")  # fmt: skip
    p.add_argument("-a", "--all", action="store_true", help="every status")
    p.add_argument("-o", "--owner", action="append", default=[], type=values.owner,
                   help="a user, ME for you (repeatable)")  # fmt: skip
    p.add_argument("-n", "--name", type=values.job_name, help="exact job name")
    p.add_argument("-t", "--tag", action="append", default=[], type=values.tag)
    p.add_argument("--since", type=values.since, help=f"created since: {_TIME_HELP}")
    p.add_argument("--until", type=values.since, help=f"created until: {_TIME_HELP}")
    p.add_argument("-q", "--quiet", action="store_true", help="ids only")
    p.add_argument("--format", type=values.ps_format, help="columns, e.g. 'id name status when'")
    return p


def _with_job(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("job", type=values.job_ref, metavar="JOB", help="job id or name")
    return parser


def _add_logs(subparsers: Any, name: str) -> argparse.ArgumentParser:
    build: Builder = lambda ns: LogsCommand(ns.job, ns.since, ns.timestamps)  # noqa: E731
    p = _with_job(subcommand(subparsers, name, "[OPTIONS] JOB", "Print the job's output", build))
    p.add_argument("--since", type=values.since, help=f"from: {_TIME_HELP}")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    return p


def _add_top(subparsers: Any, name: str) -> argparse.ArgumentParser:
    build: Builder = lambda ns: TopCommand(ns.job, ns.timeout)  # noqa: E731
    p = _with_job(subcommand(subparsers, name, "[OPTIONS] JOB", "Show CPU, memory, GPU use", build))
    p.add_argument(
        "--timeout", type=values.timeout, default=0.0, help="stop after SECS (0 = never)"
    )
    return p


def _add_exec(subparsers: Any, name: str) -> argparse.ArgumentParser:
    build: Builder = lambda ns: _build_exec(ns)  # noqa: E731
    p = subcommand(
        subparsers, name, "[-t] JOB [--] CMD...", "Run a command in a running job", build
    )
    p.add_argument("-t", "--tty", action="store_true", help="allocate a terminal")
    p.add_argument("-T", "--no-tty", dest="tty", action="store_false", help="no terminal")
    p.add_argument("job", type=values.job_ref, metavar="JOB")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD")
    return p


def _build_exec(ns: argparse.Namespace) -> Command:
    command = _drop_dashes(ns.cmd)
    if not command:
        ns._parser.error("give the command to run, e.g. bash")
    return ExecCommand(ns.job, command, ns.tty)


def _add_kill(subparsers: Any, name: str) -> argparse.ArgumentParser:
    build: Builder = lambda ns: KillCommand(tuple(ns.jobs))  # noqa: E731
    p = subcommand(subparsers, name, "JOB...", "Kill jobs", build)
    p.add_argument("jobs", nargs="+", type=values.job_ref, metavar="JOB")
    return p


def _add_simple(name: str, help: str, build: Builder) -> Any:
    """An adder for a ``COMMAND JOB`` subcommand with no options."""

    def add(subparsers: Any, alias: str) -> argparse.ArgumentParser:
        return _with_job(subcommand(subparsers, alias, "JOB", help, build))

    add.__name__ = f"_add_{name}"
    return add


_add_status = _add_simple(
    "status", "Show a job's fields and history", lambda ns: StatusCommand(ns.job)
)
_add_attach = _add_simple("attach", "Follow a job's output", lambda ns: AttachCommand(ns.job))
_add_browse = _add_simple("browse", "Open a job's Http URL", lambda ns: BrowseCommand(ns.job))
_add_generate = _add_simple(
    "generate-run-command", "Print a run command recreating a job",
    lambda ns: GenerateRunCommand(ns.job),
)  # fmt: skip


def _add_bump(subparsers: Any, name: str) -> argparse.ArgumentParser:
    build: Builder = lambda ns: BumpLifeSpanCommand(ns.job, ns.add)  # noqa: E731
    p = _with_job(subcommand(subparsers, name, "JOB TIMEDELTA", "Lengthen a job's life", build))
    p.add_argument("add", type=values.duration, metavar="TIMEDELTA", help="e.g. 2h, 1d12h")
    return p


def _build_share(ns: argparse.Namespace) -> Command:
    if ns.list:
        if ns.revoke or ns.user or ns.level:
            ns._parser.error("--list takes only the job: share --list job:NAME")
        return ShareCommand("list", ns.job)
    if ns.revoke:
        if not ns.user or ns.level:
            ns._parser.error("--revoke takes the job and the user: share --revoke job:NAME USER")
        return ShareCommand("revoke", ns.job, _value(ns, "USER", values.grantee, ns.user))
    if not ns.user or not ns.level:
        ns._parser.error("give the job, the user and read, write or manage")
    user = _value(ns, "USER", values.grantee, ns.user)
    return ShareCommand("grant", ns.job, user, _value(ns, "LEVEL", values.permission, ns.level))


def _value(ns: argparse.Namespace, name: str, check: Callable[[str], str], text: str) -> str:
    """Check a positional that argparse could not type (its meaning depends on the flags)."""
    try:
        return check(text)
    except argparse.ArgumentTypeError as error:
        parser: CommandParser = ns._parser
        parser.error(f"argument {name}: {error}")


def _add_share(subparsers: Any, name: str) -> argparse.ArgumentParser:
    usage = "[--revoke | --list] job:NAME [USER|group:NAME [read|write|manage]]"
    about = "Share a job with a user, or with a hub group (group:NAME)"
    p = subcommand(subparsers, name, usage, about, _build_share)
    p.add_argument("--revoke", action="store_true", help="take the user's or group's access away")
    p.add_argument("--list", action="store_true", help="who the job is shared with")
    p.add_argument("job", type=values.job_ref, metavar="job:NAME")
    p.add_argument("user", nargs="?", metavar="USER|group:NAME")
    p.add_argument("level", nargs="?", metavar="read|write|manage")
    return p


def _add_config(subparsers: Any, name: str) -> argparse.ArgumentParser:
    p = subcommand(subparsers, name, "show", "Show the configuration", lambda ns: ns._parser.error(
        "give a subcommand: show"))  # fmt: skip
    sub = p.add_subparsers(
        title="commands", metavar="show", parser_class=CommandParser, prog=p.prog
    )
    subcommand(
        sub, "show", "", "Show the user, the API and the presets", lambda ns: ConfigShowCommand()
    )
    return p


# The `job` group has every job command; the top level has the shortcuts Neu.ro has.
_JOB_COMMANDS = {
    "run": _add_run, "ls": _add_ps, "ps": _add_ps, "status": _add_status, "logs": _add_logs,
    "top": _add_top, "exec": _add_exec, "attach": _add_attach, "kill": _add_kill,
    "browse": _add_browse, "bump-life-span": _add_bump, "generate-run-command": _add_generate,
}  # fmt: skip
_TOP_COMMANDS = {
    "run": _add_run, "ps": _add_ps, "status": _add_status, "logs": _add_logs, "top": _add_top,
    "exec": _add_exec, "attach": _add_attach, "kill": _add_kill, "share": _add_share,
    "browse": _add_browse, "config": _add_config,
}  # fmt: skip


def build_parser(prog: str = "neuro-jupyter") -> CommandParser:
    """The whole grammar: ``run``, ``ps``, ``status``, ... and ``job <command>``."""
    parser = CommandParser(
        prog=prog, usage="%(prog)s COMMAND [OPTIONS] [ARGS]...",
        description="Run and watch Neu.ro-style jobs on a Jupyter server.",
    )  # fmt: skip
    parser.set_defaults(_parser=parser)
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=CommandParser, prog=prog
    )
    for name, add in _TOP_COMMANDS.items():
        add(commands, name)
    job = subcommand(commands, "job", "COMMAND [OPTIONS] [ARGS]...", "Job commands",
                     lambda ns: ns._parser.error("give a job command, e.g. job ls"))  # fmt: skip
    job_commands = job.add_subparsers(
        title="commands",
        dest="job_command",
        metavar="COMMAND",
        parser_class=CommandParser,
        prog=job.prog,
    )
    for name, add in _JOB_COMMANDS.items():
        add(job_commands, name)
    return parser


def parse_command(argv: Sequence[str], parser: CommandParser | None = None) -> Command:
    """Parse a command line (without the program name) into a :class:`Command`.

    Raises:
        UsageError: the grammar or a value rule refuses it.
        HelpRequested: ``-h`` was given (show ``text``, exit 0).
    """
    parser = build_parser() if parser is None else parser
    namespace, extras = parser.parse_known_args(list(argv))
    where: CommandParser = namespace._parser
    if extras:
        where.error(f"unrecognized arguments: {' '.join(extras)}")
    build: Builder | None = getattr(namespace, "_build", None)
    if build is None:
        where.error("give a command: run, ps, status, logs, top, exec, kill, share, config, job")
    return build(namespace)
