"""An argparse parser that neither prints nor exits, for a terminal and a kernel alike.

Errors raise :class:`UsageError` (one usage line and the message); ``-h``
raises :class:`HelpRequested` with the help text. A kernel never sees
``SystemExit``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from .context import Command

__all__ = ["Builder", "CommandParser", "HelpRequested", "UsageError", "subcommand"]

Builder = Callable[[argparse.Namespace], Command]
"""Turns the parsed options of one subcommand into its :class:`Command`."""


class UsageError(Exception):
    """A command line the grammar refuses: ``usage`` is one line, ``message`` says why."""

    def __init__(self, usage: str, message: str) -> None:
        super().__init__(f"{usage}\n{message}")
        self.usage = usage
        self.message = message

    def __str__(self) -> str:
        return f"{self.usage}\n{self.message}"


class HelpRequested(Exception):
    """``-h``/``--help`` was given; ``text`` is the help to show (exit code 0)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting.

    Options must be spelled out: argparse's prefix matching (``--life`` for
    ``--life-span``) is off, as in Neu.ro's click, so a typo never silently
    picks another option. Every subcommand's parser is of this class too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` with this parser's usage line."""
        raise UsageError(self.format_usage().strip(), f"{self.prog}: error: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Never exit the process (nor a kernel): raise instead."""
        if status:
            raise UsageError(self.format_usage().strip(), message or f"{self.prog}: error")
        raise HelpRequested(message or "")

    def print_help(self, file: Any = None) -> None:
        """Raise :class:`HelpRequested` carrying the help text."""
        raise HelpRequested(self.format_help())


def subcommand(subparsers: Any, name: str, usage: str, help: str, build: Builder) -> CommandParser:
    """Add the subcommand ``name``: its one-line usage, its help, and the
    :data:`Builder` that makes its :class:`Command`."""
    parser: CommandParser = subparsers.add_parser(
        name, usage=f"%(prog)s {usage}".rstrip(), help=help, description=help
    )
    parser.set_defaults(_build=build, _parser=parser)
    return parser
