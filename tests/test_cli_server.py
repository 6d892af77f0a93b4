"""``neuro-jupyter`` end to end: the console script as a subprocess against a real server.

One real Jupyter server (with the extension and the local backend) serves the
whole module; each test runs the command the way a user types it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_server import TOKEN, RealServer, free_port

CLI = [sys.executable, "-m", "neuro_jupyter.cli"]
TICKER = "while :; do echo tick; sleep 0.1; done"


@pytest.fixture(scope="module")
def a_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    server = RealServer(tmp_path_factory.mktemp("cli-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def an_env(a_server: RealServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEURO_", "JUPYTERHUB_"))}
    env.update(NEURO_API_URL=a_server.api, NEURO_API_TOKEN=TOKEN, NEURO_CONFIG=str(tmp_path))
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_guides_first_run(an_env: dict[str, str]) -> None:
    done = cli(an_env, "run", "--preset", "cpu-small", "--name", "test", "ubuntu",
               "echo", "Hello,", "World!")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Job ID: job-") and lines[1:3] == ["Status: pending", "Name: test"]
    assert "  neuro-jupyter status test" in done.stdout and "Status: pending Creating" in lines
    assert lines.index("Status: pending Creating") < lines.index("Status: running")
    assert "Terminal is attached to the remote job, so you receive the job's output." in lines
    assert lines[-1] == "Hello, World!"
    assert done.stderr == ""


def test_an_attached_run_exits_with_the_jobs_code(an_env: dict[str, str]) -> None:
    done = cli(an_env, "run", "ubuntu", "sh", "-c", "echo out; exit 3")
    assert done.returncode == 3
    assert done.stdout.endswith("out\n")
    assert "failed (Error)" in done.stderr


def test_ps_status_logs_of_the_guides_jobs(an_env: dict[str, str]) -> None:
    cli(an_env, "run", "-n", "logged", "ubuntu", "echo", "line one")
    detached = cli(an_env, "run", "--detach", "-n", "job363", "-d", "<b>mine</b>", "--tag", "t1",
                   "ubuntu", "sleep", "60")  # fmt: skip
    assert detached.returncode == 0 and "Terminal is attached" not in detached.stdout
    assert detached.stdout.rstrip().endswith("Status: running")
    ps = cli(an_env, "ps")
    header, *rows = ps.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "WHEN", "IMAGE", "OWNER", "CLUSTER",
                              "DESCRIPTION"]  # fmt: skip
    mine = next(row for row in rows if " job363 " in row)
    assert "running" in mine and "<you>" in mine and "<b>mine</b>" in mine
    assert not any(" logged " in row for row in rows)  # finished jobs only with -a
    assert any(" logged " in row for row in cli(an_env, "ps", "-a").stdout.splitlines())
    assert cli(an_env, "ps", "-s", "pending").stdout.splitlines()[1:] == []
    assert cli(an_env, "ps", "-q", "-n", "job363").stdout.strip().startswith("job-")
    status = cli(an_env, "status", "job363").stdout
    assert "Name: job363\n" in status and "Status: running\n" in status
    assert "Tags: t1\n" in status and "Life span: 1d\n" in status
    assert cli(an_env, "logs", "logged").stdout == "line one\n"
    assert cli(an_env, "job", "kill", "job363").returncode == 0


def test_kill_of_several_exits_1_if_any_failed(an_env: dict[str, str]) -> None:
    cli(an_env, "run", "--detach", "-n", "victim", "ubuntu", "sleep", "60")
    done = cli(an_env, "kill", "victim", "no-such-job")
    assert done.returncode == 1
    assert done.stdout.strip().startswith("job-")
    assert done.stderr.startswith("Cannot kill job no-such-job: ")
    assert "cancelled" in cli(an_env, "status", "victim").stdout


def test_config_show(an_env: dict[str, str]) -> None:
    done = cli(an_env, "config", "show")
    assert done.returncode == 0
    assert "Resource Presets:" in done.stdout
    assert any(line.split()[:1] == ["cpu-small"] for line in done.stdout.splitlines())


def test_share_grant_list_revoke(an_env: dict[str, str]) -> None:
    cli(an_env, "run", "--detach", "-n", "shared", "ubuntu", "sleep", "60")
    assert cli(an_env, "share", "job:shared", "bob", "manage").returncode == 0
    listed = cli(an_env, "share", "--list", "job:shared").stdout.splitlines()
    assert listed[1].split() == ["bob", "manage"]
    assert cli(an_env, "share", "--revoke", "job:shared", "bob").returncode == 0
    assert cli(an_env, "share", "--list", "job:shared").stdout.splitlines()[1:] == []
    # a hub group: the client escapes the ':' in the path, the server takes it back
    granted = cli(an_env, "share", "job:shared", "group:ml", "read")
    assert (granted.returncode, granted.stderr) == (0, "")
    assert "group:ml (read)" in granted.stdout
    listed = cli(an_env, "share", "--list", "job:shared").stdout.splitlines()
    assert [line.split() for line in listed[1:]] == [["group:ml", "read"]]
    assert "Name: shared\n" in cli(an_env, "status", "shared").stdout
    assert cli(an_env, "share", "--revoke", "job:shared", "group:ml").returncode == 0
    assert cli(an_env, "share", "--list", "job:shared").stdout.splitlines()[1:] == []
    cli(an_env, "kill", "shared")


def test_exec_generate_and_bump(an_env: dict[str, str]) -> None:
    cli(an_env, "run", "--detach", "-n", "box", "-e", "A=1", "ubuntu", "sleep", "60")
    done = cli(an_env, "exec", "box", "--", "sh", "-c", "echo $A; exit 4")
    assert (done.returncode, done.stdout) == (4, "1\n")
    line = cli(an_env, "job", "generate-run-command", "box").stdout
    assert line == (
        "neuro-jupyter run --preset cpu-small --name box --env A=1 --life-span 1d ubuntu "
        "-- sleep 60\n"
    )
    assert "now 1d2h" in cli(an_env, "job", "bump-life-span", "box", "2h").stdout
    cli(an_env, "kill", "box")


def _set_window(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_exec_tty_follows_the_terminals_resizes(an_env: dict[str, str]) -> None:
    # Issue 13: in a real terminal the job's shell learns each new window size.
    cli(an_env, "run", "--detach", "-n", "sized", "ubuntu", "sleep", "60")
    script = "stty size; while read line; do stty size; done"
    pid, master = pty.fork()
    if pid == 0:  # the child: neuro-jupyter exec -t, on the pty as its terminal
        os.execve(CLI[0], [*CLI, "exec", "-t", "sized", "--", "sh", "-c", script], an_env)
    seen = b""
    try:
        _set_window(master, 25, 100)

        def sizes() -> list[bytes]:
            nonlocal seen
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 4096)
            return re.findall(rb"(\d+) (\d+)\r?\n", seen)

        deadline = time.monotonic() + 30
        while not sizes() and time.monotonic() < deadline:
            pass
        assert sizes()[0] == (b"25", b"100"), seen
        _set_window(master, 20, 90)  # the kernel sends SIGWINCH to neuro-jupyter
        while sizes()[-1] != (b"20", b"90") and time.monotonic() < deadline:
            os.write(master, b"\n")  # each line makes the job print its size again
        assert sizes()[-1] == (b"20", b"90"), seen
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(master)
        cli(an_env, "kill", "sized")


def test_browse_opens_the_http_url(an_env: dict[str, str], tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(0o755)
    env = {**an_env, "BROWSER": str(browser)}
    done = cli(env, "run", "--detach", "--browse", "--http", "8000", "-n", "web", "ubuntu",
               "sleep", "60")  # fmt: skip
    assert done.returncode == 0
    url = seen.read_text().strip()
    assert url.startswith("http://127.0.0.1:") and "/neuro/jobs/web--" in url
    assert f"Http URL: {url}\n" in done.stdout
    assert done.stderr == "--http is deprecated: use --http-port\n"  # as Neu.ro warns
    again = cli(an_env, "job", "generate-run-command", "web").stdout
    assert " --http-port 8000 " in again and "--http " not in again
    cli(an_env, "kill", "web")


def test_interrupt_detaches_and_the_job_goes_on(an_env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [*CLI, "run", "-n", "ticker", "ubuntu", "sh", "-c", TICKER],
        env=an_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    while process.stdout.readline() != "tick\n":
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "it goes on running" in out and "Traceback" not in err
    time.sleep(0.3)
    assert "Status: running" in cli(an_env, "status", "ticker").stdout
    cli(an_env, "kill", "ticker")


def test_a_job_that_cannot_start_exits_125(an_env: dict[str, str]) -> None:
    done = cli(an_env, "run", "ubuntu", "/no/such/program")
    assert done.returncode in (125, 127), done.stdout  # never ran, or the shell's own 127


def test_server_refusals_are_one_line(an_env: dict[str, str]) -> None:
    done = cli(an_env, "run", "-s", "no-such-preset", "ubuntu")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1
    assert "no-such-preset" in done.stderr
    missing = cli(an_env, "status", "nosuch")
    assert (missing.returncode, missing.stderr.count("\n")) == (1, 1)


def test_a_bad_option_is_one_usage_line(an_env: dict[str, str]) -> None:
    done = cli(an_env, "run", "--bogus", "ubuntu")
    assert done.returncode == 2 and done.stdout == ""
    usage, message = done.stderr.splitlines()
    assert usage == "usage: neuro-jupyter run [OPTIONS] IMAGE [CMD...]"
    assert "--bogus" in message


def test_a_missing_server_is_one_sentence(an_env: dict[str, str]) -> None:
    env = {**an_env, "NEURO_API_URL": f"http://127.0.0.1:{free_port()}/neuro/api/v1/"}
    done = cli(env, "ps")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: no Jupyter server answers at ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_user_toml_sets_life_span_and_ps_format(an_env: dict[str, str]) -> None:
    Path(an_env["NEURO_CONFIG"], "user.toml").write_text(
        '[job]\nlife-span = "2h"\nps-format = "name status"\n'
    )
    cli(an_env, "run", "--detach", "-n", "configured", "ubuntu", "sleep", "60")
    assert "Life span: 2h\n" in cli(an_env, "status", "configured").stdout
    rows = [line.split() for line in cli(an_env, "ps").stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS"] and ["configured", "running"] in rows
    cli(an_env, "kill", "configured")
    Path(an_env["NEURO_CONFIG"], "user.toml").write_text("[job]\nbogus = 1\n")
    broken = cli(an_env, "ps")
    assert broken.returncode == 1 and "unknown key 'bogus'" in broken.stderr
