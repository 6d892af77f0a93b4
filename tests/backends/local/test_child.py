"""The runner's child: commands started with posix_spawn, as Popen started them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from neuro_jupyter.backends.local.child import Child, seal_descriptors, spawn


def output_of(child: Child) -> bytes:
    data = b""
    while chunk := os.read(child.stdout, 4096):
        data += chunk
    child.close()
    return data


def test_it_runs_in_its_working_dir_and_session_with_one_output(tmp_path: Path) -> None:
    here = os.getcwd()
    script = "pwd; echo out; echo err >&2; read line || echo no-input; exit 3"
    child = spawn(["sh", "-c", script], {"PATH": "/usr/bin:/bin"}, str(tmp_path))
    assert os.getsid(child.pid) == child.pid  # a session (and process group) of its own
    assert output_of(child) == f"{tmp_path}\nout\nerr\nno-input\n".encode()
    assert child.wait() == 3 and child.poll() == 3 and child.returncode == 3
    assert os.getcwd() == here  # the runner went back


def test_the_program_is_found_on_the_path_of_its_own_environment(tmp_path: Path) -> None:
    (tmp_path / "hello").write_text("#!/bin/sh\necho hello $X\n")
    (tmp_path / "hello").chmod(0o755)
    child = spawn(["hello"], {"PATH": f"/nowhere:{tmp_path}", "X": "1"}, "/")
    assert output_of(child) == b"hello 1\n"
    assert child.wait() == 0


def test_what_cannot_run_raises_as_popen_does(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("echo no\n")
    with pytest.raises(FileNotFoundError):
        spawn(["no-such-program-here"], {"PATH": str(tmp_path)}, "/")
    with pytest.raises(PermissionError):
        spawn(["plain"], {"PATH": str(tmp_path)}, "/")
    with pytest.raises(FileNotFoundError):
        spawn(["true"], {"PATH": "/usr/bin:/bin"}, str(tmp_path / "missing"))


def test_signals_and_timeouts_read_as_popen() -> None:
    child = spawn(["grep", "SigIgn", "/proc/self/status"], {"PATH": "/usr/bin:/bin"}, "/")
    ignored = int(output_of(child).split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))  # Python ignores it; commands do not
    child.wait()
    sleeper = spawn(["sleep", "30"], {"PATH": "/usr/bin:/bin"}, "/")
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(timeout=0.05)
    os.kill(sleeper.pid, 9)
    assert sleeper.wait() == -9
    sleeper.close()


def test_sealed_descriptors_do_not_reach_commands() -> None:
    read, write = os.pipe()
    os.set_inheritable(write, True)
    seal_descriptors()
    assert not os.get_inheritable(write)
    os.close(read)
    os.close(write)
