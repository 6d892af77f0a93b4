"""``neuro-jupyter``: the Neu.ro job commands in a terminal, and the same grammar for ``%neuro``.

What a front end calls (the console script and the magics alike)::

    result = run_line(argv, out, prog="%neuro", in_notebook=True)   # -> Result

or, step by step: ``build_parser(prog)`` and ``parse_command(argv, parser)``
give a :class:`Command` (raising :class:`UsageError` / :class:`HelpRequested`),
and ``execute(command, client, out, in_notebook=...)`` runs it. Output goes
through an :class:`Output` (``write`` streamed text, ``show`` a :class:`View`,
``error`` a message); the :class:`Result` holds the exit code and the value
(a Job, a list of Jobs, ...).

Exit codes: the command's own (an attached ``run`` exits with the job's exit
code, 125 when it never started; ``kill`` 1 if any kill failed), 2 for a
usage error, 1 for an error from the API or the configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

import httpx

from ..client import NeuroClient
from ..jobs.errors import NeuroError
from ..userconfig import UserConfig, load_user_config
from .context import Command, Context, Output, Result, TextOutput, View, current_user
from .grammar import build_parser, parse_command
from .parser import CommandParser, HelpRequested, UsageError
from .regenerate import run_command_line
from .running import EXIT_NOT_STARTED, RunCommand

__all__ = [
    "EXIT_NOT_STARTED",
    "EXIT_USAGE",
    "Command",
    "CommandParser",
    "Context",
    "HelpRequested",
    "Output",
    "Result",
    "RunCommand",
    "TextOutput",
    "UsageError",
    "View",
    "build_parser",
    "current_user",
    "execute",
    "main",
    "parse_command",
    "run_command_line",
    "run_line",
]

EXIT_USAGE = 2
EXIT_ERROR = 1


def execute(
    command: Command,
    client: NeuroClient,
    out: Output,
    *,
    in_notebook: bool = False,
    prog: str = "neuro-jupyter",
    user_config: UserConfig | None = None,
    stdin: IO[bytes] | None = None,
) -> Result:
    """Run a parsed command against ``client``, writing to ``out``.

    Raises:
        NeuroError: the API refused, or cannot be reached (one sentence).
        UserConfigError: ``user.toml`` is broken (when ``user_config`` is None).
    """
    config = load_user_config() if user_config is None else user_config
    ctx = Context(client, out, in_notebook, prog, config, stdin)
    return command.execute(ctx)


def run_line(
    argv: Sequence[str],
    out: Output,
    *,
    client: NeuroClient | None = None,
    prog: str = "neuro-jupyter",
    in_notebook: bool = False,
    stdin: IO[bytes] | None = None,
) -> Result:
    """Parse and run one command line; every failure becomes a message and an exit code.

    A usage error writes its usage line and message (exit 2), ``-h`` writes the
    help (exit 0), an API or configuration error writes one sentence (exit 1).
    Nothing raises, except KeyboardInterrupt outside an attached job.
    """
    try:
        command = parse_command(argv, build_parser(prog))
    except HelpRequested as help:
        out.write(help.text)
        return Result(0, None)
    except UsageError as error:
        out.error(str(error))
        return Result(EXIT_USAGE, None)
    own = client is None
    try:
        if client is None:
            client = NeuroClient()
        return execute(command, client, out, in_notebook=in_notebook, prog=prog, stdin=stdin)
    except NeuroError as error:
        out.error(f"Error: {error}")
    except httpx.HTTPError as error:
        out.error(f"Error: the connection to the Jupyter server failed: {error}")
    finally:
        if own and client is not None:
            client.close()
    return Result(EXIT_ERROR, None)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``neuro-jupyter`` console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = run_line(args, TextOutput(), stdin=sys.stdin.buffer)
    except KeyboardInterrupt:
        return 130
    return result.exit_code
