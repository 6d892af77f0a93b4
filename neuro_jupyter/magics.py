"""``%neuro`` and ``%%neuro``: the ``neuro-jupyter`` grammar inside a notebook.

``%load_ext neuro_jupyter`` registers them. The line is parsed by the CLI's
own grammar and run by the CLI's own commands (:func:`neuro_jupyter.cli.run_line`);
only the output differs: tables and statuses are displayed as HTML (with a
text fallback), a running job's output streams into the cell keeping ``\\r``
(a tqdm bar stays one bar), and the command's value (a Job, a list of Jobs)
is returned for use in code. Interrupting the kernel while attached detaches:
the job goes on. ``run --widget`` displays a live
:class:`~neuro_jupyter.widgets.JobMonitor` of the new job instead of text.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field, fields
from typing import Any

from IPython import get_ipython
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.display import display

from .cli import (
    HelpRequested,
    RunCommand,
    UsageError,
    View,
    build_parser,
    parse_command,
    run_line,
)
from .client import Job, NeuroClient, NeuroError
from .render import render_ps_html, render_ps_text, render_status_html, render_status_text
from .render.terminal import compact_carriage_returns
from .userconfig import load_user_config

__all__ = [
    "NeuroMagics",
    "NotebookOutput",
    "ShownJob",
    "ShownJobs",
    "compact_carriage_returns",
    "load_ipython_extension",
]

PROG = "%neuro"


class NotebookOutput:
    """Output of a command in a cell: streams to stdout, views as rich displays."""

    def write(self, text: str) -> None:
        """Stream ``text`` into the cell at once."""
        sys.stdout.write(compact_carriage_returns(text))
        sys.stdout.flush()

    def show(self, view: View) -> None:
        """Display a table or status as HTML (text where HTML cannot be shown)."""
        _display(view)

    def error(self, text: str) -> None:
        """One message, no traceback."""
        sys.stdout.flush()
        print(text, file=sys.stderr, flush=True)


def _display(view: View) -> None:
    display(view)  # type: ignore[no-untyped-call]


def _execution_count() -> int | None:
    shell = get_ipython()
    return None if shell is None else int(shell.execution_count)


@dataclass(frozen=True)
class ShownJob(Job):
    """A Job ``%neuro`` returns after showing it: not shown again in that cell.

    Displayed in a later cell, it shows its status as any Job does.
    """

    shown_in: int | None = field(default=None, compare=False, repr=False)

    def _ipython_display_(self) -> None:
        if self.shown_in is None or self.shown_in != _execution_count():
            _display(View(render_status_text(self), render_status_html(self)))


class ShownJobs(list[Job]):
    """Jobs ``%neuro`` returns after showing them as a table: not shown twice."""

    shown_in: int | None = None

    def _ipython_display_(self) -> None:
        if self.shown_in is None or self.shown_in != _execution_count():
            _display(View(render_ps_text(list(self), None), render_ps_html(list(self), None)))


def _returned(value: Any) -> Any:
    """The command's value, marked as already shown in this cell."""
    count = _execution_count()
    if isinstance(value, Job):
        return ShownJob(**{f.name: getattr(value, f.name) for f in fields(Job)}, shown_in=count)
    if isinstance(value, list) and all(isinstance(item, Job) for item in value):
        jobs = ShownJobs(value)
        jobs.shown_in = count
        return jobs
    return value


def _script_command(body: str) -> list[str]:
    """The command that runs a cell body: its ``#!`` interpreter, else bash."""
    first, _, rest = body.lstrip("\n").partition("\n")
    if first.startswith("#!"):
        interpreter = shlex.split(first[2:].strip())
        if interpreter[:1] == ["/usr/bin/env"]:
            interpreter = interpreter[1:]
        return [*interpreter, "-c", rest]
    return ["bash", "-c", body]


def _widget_run(argv: list[str]) -> RunCommand | None:
    """The ``run --widget`` command of ``argv``, if that is what it is; anything
    else (a bad line included) is left to :func:`run_line`."""
    if "--widget" not in argv:
        return None
    try:
        command = parse_command(argv, build_parser(PROG))
    except (UsageError, HelpRequested):
        return None
    return command if isinstance(command, RunCommand) and command.widget else None


def _run_with_monitor(command: RunCommand, out: NotebookOutput) -> Any:
    """Start the job and display a live :class:`~neuro_jupyter.widgets.JobMonitor`
    of it in place of the streamed text; the Job is returned."""
    from .widgets import JobMonitor  # ipywidgets only when asked for

    try:
        with NeuroClient() as client:
            job = client.run(command.spec(load_user_config().life_span))
    except NeuroError as error:
        out.error(f"Error: {error}")
        return None
    _display(JobMonitor(job, config=client.config))
    return _returned(job)


@magics_class
class NeuroMagics(Magics):  # type: ignore[misc]
    """``%neuro COMMAND ...`` and ``%%neuro run [OPTIONS] IMAGE``."""

    @no_var_expand  # type: ignore[untyped-decorator]
    @line_cell_magic  # type: ignore[untyped-decorator]
    def neuro(self, line: str, cell: str | None = None) -> Any:
        """Run a neuro-jupyter command: ``%neuro run --preset cpu-small ubuntu echo hi``.

        As a cell magic, ``%%neuro run [OPTIONS] IMAGE`` runs the cell body as
        the job's script (its ``#!`` line names the interpreter; bash otherwise).
        Returns what the command produced (a Job, a list of Jobs), or None.
        """
        out = NotebookOutput()
        try:
            argv = shlex.split(line)
            if cell is not None:
                argv = [*argv, *self._cell_script(argv, cell)]
        except (ValueError, UsageError) as error:
            out.error(str(error))
            return None
        command = _widget_run(argv)
        if command is not None:
            return _run_with_monitor(command, out)
        try:
            result = run_line(argv, out, prog=PROG, in_notebook=True)
        except KeyboardInterrupt:
            out.error("Interrupted: any job already started goes on running.")
            return None
        return None if result.value is None else _returned(result.value)

    @staticmethod
    def _cell_script(argv: list[str], cell: str) -> list[str]:
        command = parse_command(argv, build_parser(PROG))
        if not isinstance(command, RunCommand):
            raise UsageError(
                "usage: %%neuro run [OPTIONS] IMAGE",
                "%%neuro: error: only `run` takes a cell: its body is the job's script",
            )
        if command.command:
            raise UsageError(
                "usage: %%neuro run [OPTIONS] IMAGE",
                "%%neuro: error: the cell body is the script: give no command after IMAGE",
            )
        return _script_command(cell)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext neuro_jupyter``: register ``%neuro`` and ``%%neuro``."""
    ipython.register_magics(NeuroMagics)
