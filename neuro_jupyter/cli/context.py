"""What a command runs with and gives back: the output, the context, the result.

Commands never print. They write streamed text (``write``, ``\\r`` kept) and
show rich results (``show``: a :class:`View` with text and HTML) through an
:class:`Output`; the terminal prints text, the magics display HTML.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from ..client import NeuroClient
from ..userconfig import UserConfig

__all__ = ["Command", "Context", "Output", "Result", "TextOutput", "View", "current_user"]


@dataclass(frozen=True)
class View:
    """A rich result: its text rendering and its (escaped) HTML rendering.

    IPython displays it through ``_repr_html_``, with the text as fallback.
    """

    text: str
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text.rstrip("\n"))

    def __str__(self) -> str:
        return self.text


class Output(Protocol):
    """Where a command's output goes."""

    def write(self, text: str) -> None:
        """Streamed text as it comes (job output, status lines); ``\\r`` is kept."""

    def show(self, view: View) -> None:
        """A finished result: a table, a job's status, a link."""

    def error(self, text: str) -> None:
        """A message about a failure, one line without the newline."""


class TextOutput:
    """The terminal's output: text to ``stdout``, errors to ``stderr``, flushed at once."""

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr

    def write(self, text: str) -> None:
        """Write ``text`` as is and flush, so progress bars update live."""
        self.stdout.write(text)
        self.stdout.flush()

    def show(self, view: View) -> None:
        """Print the view's text."""
        self.write(view.text)

    def error(self, text: str) -> None:
        """Print ``text`` and a newline to stderr."""
        self.stdout.flush()
        self.stderr.write(text + "\n")
        self.stderr.flush()


@dataclass(frozen=True)
class Result:
    """What a command ends with: the exit code, and the Python value it produced
    (a Job, a list of Jobs, ...), which ``%neuro`` returns to the notebook."""

    exit_code: int = 0
    value: Any = None


def current_user(client: NeuroClient, environ: dict[str, str] | None = None) -> str | None:
    """Who ``ME`` and ``<you>`` are: the API config's user, else ``$JUPYTERHUB_USER``,
    else the OS user, as a single-user server names its owner."""
    env = os.environ if environ is None else environ
    if client.config.user:
        return client.config.user
    if env.get("JUPYTERHUB_USER"):
        return env["JUPYTERHUB_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@dataclass
class Context:
    """Everything a command needs besides its own arguments.

    ``prog`` is how commands are spelled back to the user (``neuro-jupyter`` or
    ``%neuro``); ``stdin`` feeds ``exec`` (None in a notebook: no input).
    """

    client: NeuroClient
    out: Output
    in_notebook: bool = False
    prog: str = "neuro-jupyter"
    user_config: UserConfig = field(default_factory=UserConfig)
    stdin: IO[bytes] | None = None
    me: str | None = None
    poll: float = 0.15

    def __post_init__(self) -> None:
        if self.me is None:
            self.me = current_user(self.client)


class Command(Protocol):
    """A parsed command line, ready to run."""

    def execute(self, ctx: Context) -> Result:
        """Run the command against the API; never prints, never raises SystemExit.

        Raises:
            NeuroError: the API refused or could not be reached.
        """
