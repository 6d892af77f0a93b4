"""``run --widget``: one grammar for both faces; a terminal follows the job as text."""

from __future__ import annotations

import io

from neuro_jupyter.cli import TextOutput, parse_command, run_line
from neuro_jupyter.cli.running import RunCommand
from neuro_jupyter.client import NeuroClient


def test_the_grammar_takes_widget() -> None:
    assert parse_command(["run", "--widget", "ubuntu", "true"]) == RunCommand(
        "ubuntu", ("true",), widget=True
    )
    # After IMAGE it is the job's command, as every option is.
    assert parse_command(["run", "ubuntu", "echo", "--widget"]) == RunCommand(
        "ubuntu", ("echo", "--widget")
    )


def test_a_terminal_says_so_and_follows_as_text(neuro: NeuroClient) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    result = run_line(
        ["run", "--widget", "ubuntu", "echo", "as text"],
        TextOutput(stdout, stderr),
        client=neuro,
    )
    assert result.exit_code == 0
    assert "--widget shows a monitor in a notebook" in stderr.getvalue()
    assert "as text\n" in stdout.getvalue()
