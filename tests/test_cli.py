"""The grammar of ``neuro-jupyter`` / ``%neuro``: every option, and bad input as one usage line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.cli import HelpRequested, UsageError, build_parser, parse_command
from neuro_jupyter.cli.commands import (
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
from neuro_jupyter.cli.context import Command
from neuro_jupyter.cli.execs import ExecCommand
from neuro_jupyter.cli.running import AttachCommand, RunCommand

ID = "job-3e5e4f2e-cc57-4e4b-af04-c795b76d9ca8"


def parse(line: str) -> Command:
    import shlex

    return parse_command(shlex.split(line))


RUN_CASES = [
    ("run ubuntu", RunCommand("ubuntu")),
    ("run --preset cpu-small --name test ubuntu echo Hello, World!",
     RunCommand("ubuntu", ("echo", "Hello,", "World!"), preset="cpu-small", name="test")),
    ("run -s gpu-large -n job303 -v storage:code/:/code:rw neuromation/base python /code/train.py",
     RunCommand("neuromation/base", ("python", "/code/train.py"), preset="gpu-large",
                name="job303", volumes=("storage:code/:/code:rw",))),
    ("run python:3.12 python train.py --lr 1e-3 -n x",
     RunCommand("python:3.12", ("python", "train.py", "--lr", "1e-3", "-n", "x"))),
    ("run ubuntu -- sh -c 'exit 3'", RunCommand("ubuntu", ("sh", "-c", "exit 3"))),
    ("run --tag a --tag b -d 'my job' ubuntu",
     RunCommand("ubuntu", tags=("a", "b"), description="my job")),
    ("run --volume storage::/home/me --volume storage:data:/data:ro ubuntu",
     RunCommand("ubuntu", volumes=("storage::/home/me", "storage:data:/data:ro"))),
    ("run -e A=1 --env B=x=y -w /work ubuntu",
     RunCommand("ubuntu", env={"A": "1", "B": "x=y"}, workdir="/work")),
    ("run --http 8085 --no-http-auth --browse --keep-prefix filebrowser/filebrowser --port 8085",
     RunCommand("filebrowser/filebrowser", ("--port", "8085"), http_port=8085,
                http_auth=False, keep_prefix=True, browse=True, old_http=True)),
    ("run --http 80 --http-auth ubuntu",
     RunCommand("ubuntu", http_port=80, http_auth=True, old_http=True)),
    # --http-port is Neu.ro's spelling, --http its deprecated alias; 0 is no port (issue 13).
    ("run --http-port 8080 ubuntu", RunCommand("ubuntu", http_port=8080)),
    ("run --http-port 8085 --no-http-auth --browse --keep-prefix ubuntu",
     RunCommand("ubuntu", http_port=8085, http_auth=False, keep_prefix=True, browse=True)),
    ("run --http-port 80 --http-auth ubuntu", RunCommand("ubuntu", http_port=80, http_auth=True)),
    ("run --http-port 0 ubuntu", RunCommand("ubuntu")),
    ("run --http 0 ubuntu", RunCommand("ubuntu", old_http=True)),
    ("run --http-port ' 8080\n' ubuntu", RunCommand("ubuntu", http_port=8080)),
    # One whitespace rule for every value (issue 13).
    ("run --life-span ' 1d' -n ' test ' -s 'cpu-small ' --tag ' a' --restart ' never'"
     " -w ' /w' -v ' storage:a:/a ' ' ubuntu '",
     RunCommand("ubuntu", life_span=" 1d", name="test", preset="cpu-small", tags=("a",),
                restart="never", workdir="/w", volumes=(" storage:a:/a ",))),
    ("run -v 'storage:my%20dir:/d' -e A-B=1 -e A.B=2 ubuntu",
     RunCommand("ubuntu", volumes=("storage:my%20dir:/d",), env={"A-B": "1", "A.B": "2"})),
    ("run --detach --life-span 2d3h20min --restart on-failure --share bob --share eve ubuntu",
     RunCommand("ubuntu", detach=True, life_span="2d3h20min", restart="on-failure",
                share=("bob", "eve"))),
    ("job run -n abc ubuntu true", RunCommand("ubuntu", ("true",), name="abc")),
    ("run --share group:ml --share bob ubuntu", RunCommand("ubuntu", share=("group:ml", "bob"))),
]  # fmt: skip

OTHER_CASES = [
    ("ps", PsCommand()),
    ("ps -s pending -s running -a -o ME -o bob -n job390 -t a -t b --since 1d"
     " --until 2024-05-01T00:00Z -q --format 'id,status'",
     PsCommand(("pending", "running"), True, ("ME", "bob"), "job390", ("a", "b"), "1d",
               "2024-05-01T00:00Z", True, "id,status")),
    ("ps --since '' --until ' '", PsCommand()),  # empty: no filter, as Neu.ro
    ("ps -o ' ME' -o 'bob ' -s ' running' -t ' a' -n ' job390'",
     PsCommand(("running",), owners=("ME", "bob"), tags=("a",), name="job390")),
    ("ps --since ' 2h\n' --until 2024-05-01T02:00+02:00",
     PsCommand(since="2h", until="2024-05-01T02:00+02:00")),
    ("logs --since '' test", LogsCommand("test")),
    ("job ls --status failed", PsCommand(("failed",))),
    ("job ps", PsCommand()),
    ("status test", StatusCommand("test")),
    ("job status job:test", StatusCommand("test")),
    (f"status {ID}", StatusCommand(ID)),
    ("status job:/alice/test", StatusCommand("test--alice")),
    ("logs test", LogsCommand("test")),
    ("job logs --since 1h --timestamps test", LogsCommand("test", "1h", True)),
    ("top test", TopCommand("test")),
    ("job top --timeout 2.5 test", TopCommand("test", 2.5)),
    ("exec test ls", ExecCommand("test", ("ls",))),
    ("exec -t test -- /bin/bash -l", ExecCommand("test", ("/bin/bash", "-l"), True)),
    ("job exec --tty test -- ls -la", ExecCommand("test", ("ls", "-la"), True)),
    ("attach test", AttachCommand("test")),
    ("job attach test", AttachCommand("test")),
    ("kill test", KillCommand(("test",))),
    (f"job kill job363 {ID}", KillCommand(("job363", ID))),
    ("share job:job363 mrsmariyadavydova manage",
     ShareCommand("grant", "job363", "mrsmariyadavydova", "manage")),
    ("share job363 bob READ", ShareCommand("grant", "job363", "bob", "read")),
    ("share --revoke job:job363 bob", ShareCommand("revoke", "job363", "bob")),
    ("share --list job:job363", ShareCommand("list", "job363")),
    ("share job:train group:ml read", ShareCommand("grant", "train", "group:ml", "read")),
    ("share --revoke job:train group:ml", ShareCommand("revoke", "train", "group:ml")),
    ("config show", ConfigShowCommand()),
    ("browse test", BrowseCommand("test")),
    ("job browse test", BrowseCommand("test")),
    ("job bump-life-span test 2h", BumpLifeSpanCommand("test", "2h")),
    ("job generate-run-command test", GenerateRunCommand("test")),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), RUN_CASES + OTHER_CASES)
def test_every_option(line: str, expected: Command) -> None:
    assert parse(line) == expected


def test_env_from_here_and_env_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HERE", "local value")
    monkeypatch.delenv("NOT_SET", raising=False)
    first = tmp_path / "a.env"
    first.write_text("\ufeff# comment\n\nA=file\nexport B=file\n", encoding="utf-8")
    second = tmp_path / "b.env"
    second.write_text("export  B=second\nC=second\nexport D.E=x\n", encoding="utf-8")
    command = parse(
        f"run --env-file {first} -e A=option -e FROM_HERE -e NOT_SET --env-file {second} ubuntu"
    )
    assert isinstance(command, RunCommand)
    assert command.env == {
        "A": "option", "B": "second", "C": "second", "D.E": "x", "FROM_HERE": "local value",
        "NOT_SET": "",
    }  # fmt: skip


def test_the_spec_sent_for_a_run() -> None:
    command = parse("run -s cpu-small -n test --http 80 --no-http-auth ubuntu echo Hello, World!")
    assert isinstance(command, RunCommand)
    assert command.spec("1d") == {
        "image": "ubuntu", "command": "echo Hello, 'World!'", "preset": "cpu-small",
        "name": "test", "http": {"port": 80, "auth": False, "keep_prefix": False},
        "life_span": "1d",
    }  # fmt: skip
    single = parse("run ubuntu 'echo a b'")
    assert isinstance(single, RunCommand)
    assert single.spec()["command"] == "echo a b"  # one word is sent as is
    assert "command" not in parse_run("run ubuntu").spec()
    assert parse_run("run --life-span 2h ubuntu").spec("1d")["life_span"] == "2h"


def parse_run(line: str) -> RunCommand:
    command = parse(line)
    assert isinstance(command, RunCommand)
    return command


BAD = [
    ("run -n Bad ubuntu", "run", "argument -n/--name: job name 'Bad' is invalid: use 3-40"),
    ("run -n job-abc ubuntu", "run", "kept for job ids"),
    ("run -v data:/x ubuntu", "run", "argument -v/--volume: volume 'data:/x' is invalid"),
    ("run -v storage:a:/m/../x ubuntu", "run", "'..'"),
    ("run --life-span 1h1d ubuntu", "run", "argument --life-span: duration '1h1d' is invalid"),
    ("run --life-span 20 ubuntu", "run", "is invalid"),
    ("run -e 'X Y=2' ubuntu", "run", "env name 'X Y' is invalid"),
    ("run --env-file /nonexistent/x.env ubuntu", "run", "cannot read env file"),
    ("run --http -1 ubuntu", "run", "port '-1' is invalid: use a whole number from 1 to 65535"),
    ("run --http 70000 ubuntu", "run", "port 70000 is invalid"),
    ("run --http 80x ubuntu", "run", "argument --http: port '80x' is invalid"),
    ("run --http-port 80x ubuntu", "run", "argument --http-port: port '80x' is invalid"),
    ("run --restart sometimes ubuntu", "run", "restart policy 'sometimes' is unknown"),
    ("run -w rel ubuntu", "run", "workdir 'rel' is invalid: it must be absolute"),
    ("run --tag 'a b' ubuntu", "run", "argument --tag"),
    ("run -s Big! ubuntu", "run", "preset name 'Big!' is invalid"),
    ("run UBUNTU", "run", "image 'UBUNTU' is invalid"),
    ("run --no-http-auth ubuntu", "run", "need --http-port PORT"),
    ("run --browse ubuntu", "run", "need --http-port PORT"),
    ("run --http-port 0 --http-auth ubuntu", "run", "need --http-port PORT (not 0)"),
    ("run --http 0 --no-http-auth ubuntu", "run", "need --http-port PORT (not 0)"),
    ("run --http-port 0 --browse ubuntu", "run", "need --http-port PORT (not 0)"),
    ("run -v storage:a%2Fb:/m ubuntu", "run", "escaped '/'"),
    ("run -v storage:%2e%2E/x:/m ubuntu", "run", "contains '..'"),
    ("run image://cluster/name", "run", "the project or the name is missing"),
    ("ps --since 2024-13", "ps", "time '2024-13' is invalid"),
    # No prefix matching: a shortened option is no option (issue 13).
    ("run --life 1d ubuntu", "run", "unrecognized arguments: --life"),
    ("run --http-p 80 ubuntu", "run", "unrecognized arguments"),
    ("run --desc x ubuntu", "run", "unrecognized arguments"),
    ("ps --stat running", "ps", "unrecognized arguments: --stat"),
    ("job ls --al", "job ls", "unrecognized arguments: --al"),
    ("logs --time test", "logs", "unrecognized arguments: --time"),
    ("share --rev job:test bob", "share", "unrecognized arguments: --rev"),
    ("run", "run", "the following arguments are required: IMAGE"),
    ("run --bogus ubuntu", "run", "unrecognized arguments: --bogus"),
    ("ps -s sleeping", "ps", "unknown status 'sleeping'"),
    ("ps --since yesterday", "ps", "time 'yesterday' is invalid"),
    ("ps --format bogus", "ps", "ps column 'bogus' is unknown"),
    ("ps -o 'a b'", "ps", "user name 'a b' is invalid"),
    ("ps --bogus", "ps", "unrecognized arguments: --bogus"),
    ("status", "status", "the following arguments are required: JOB"),
    ("status Not_A_Job", "status", "job reference 'Not_A_Job' is invalid"),
    ("kill", "kill", "required: JOB"),
    ("exec test", "exec", "give the command to run"),
    ("top --timeout -1 test", "top", "timeout '-1' is invalid"),
    ("share job:test bob", "share", "give the job, the user and read, write or manage"),
    ("share job:test bob own", "share", "permission 'own' is unknown"),
    ("share --revoke job:test", "share", "--revoke takes the job and the user"),
    ("share --list job:test bob", "share", "--list takes only the job"),
    ("share job:test group: read", "share", "USER: group 'group:' is invalid: it is empty"),
    ("share --revoke job:test 'group:a b'", "share", "group 'group:a b' is invalid"),
    ("run --share group:a/b ubuntu", "run", "argument --share: group 'group:a/b' is invalid"),
    ("job bump-life-span test 2x", "job bump-life-span", "duration '2x' is invalid"),
    ("config", "config", "give a subcommand: show"),
    ("job", "job", "give a job command"),
    ("", "", "give a command"),
    ("bogus", "", "invalid choice: 'bogus'"),
]


@pytest.mark.parametrize(("line", "where", "rule"), BAD)
def test_bad_input_is_one_usage_line_and_the_rule(line: str, where: str, rule: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(line)
    usage, message = str(caught.value).split("\n")
    prog = f"neuro-jupyter {where}".strip()
    assert usage.startswith(f"usage: {prog} ")
    assert message.startswith(f"{prog}: error: ")
    assert rule in message


def test_every_parser_refuses_abbreviations() -> None:
    def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    found = list(parsers(build_parser()))
    assert len(found) > 20  # the top, every command, `job` and its commands, `config show`
    assert all(not parser.allow_abbrev for parser in found)


def test_the_old_http_spelling_is_hidden_from_the_help() -> None:
    with pytest.raises(HelpRequested) as caught:
        parse("run -h")
    assert "--http-port PORT" in caught.value.text
    assert "--http " not in caught.value.text and "--http," not in caught.value.text


def test_help_says_naive_times_are_local() -> None:
    for line in ("ps -h", "logs -h", "job ls -h"):
        with pytest.raises(HelpRequested) as caught:
            parse(line)
        assert "your local time unless it has a zone" in " ".join(caught.value.text.split())


def test_naive_times_are_the_clients_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30 all year
    time.tzset()
    try:
        assert parse("ps --since 2024-05-01T05:30 --until 2024-05") == PsCommand(
            since="2024-05-01T00:00:00+00:00", until="2024-04-30T18:30:00+00:00"
        )
        assert parse("logs --since 2024-05-01 test") == LogsCommand(
            "test", "2024-04-30T18:30:00+00:00"
        )
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("line", ["-h", "run -h", "ps --help", "job status -h", "config show -h"])
def test_help_does_not_exit(line: str) -> None:
    with pytest.raises(HelpRequested) as caught:
        parse(line)
    assert caught.value.text.startswith("usage: neuro-jupyter")
    assert not isinstance(caught.value, SystemExit)


def test_the_magics_spell_it_their_way() -> None:
    with pytest.raises(UsageError, match=r"^usage: %neuro run \[OPTIONS\] IMAGE \[CMD...\]\n"):
        parse_command(["run"], build_parser("%neuro"))
    assert parse_command(["run", "ubuntu", "-h"], build_parser("%neuro")) == RunCommand(
        "ubuntu", ("-h",)
    )


def test_exported_members() -> None:
    import neuro_jupyter.cli as cli
    import neuro_jupyter.render as render

    assert {"build_parser", "parse_command", "execute", "run_line", "main", "Output", "View",
            "Result", "UsageError", "HelpRequested", "TextOutput"} <= set(cli.__all__)  # fmt: skip
    assert {"render_ps_text", "render_ps_html", "render_status_text", "render_status_html",
            "render_presets_text", "render_presets_html", "render_top_text", "render_top_html",
            "render_run_header"} <= set(render.__all__)  # fmt: skip
    for module in (cli, render):
        assert all(hasattr(module, name) for name in module.__all__)
