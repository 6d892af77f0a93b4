"""The runner on its own: a prepared job folder, ``python -m ...runner``, its reports."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import psutil
import pytest

from neuro_jupyter.backends.local.jobdir import JobDir, Launch
from neuro_jupyter.backends.local.notify import SUPPORTED, address
from neuro_jupyter.backends.local.runner import exit_code_of, main, rehearse

from ..utils import wait_for

PY = sys.executable


def prepare(tmp_path: Path, argv: list[str], **launch: object) -> JobDir:
    job_dir = JobDir(tmp_path)
    job_dir.write_json("env", {"PATH": "/usr/bin:/bin", "X": "1"}, mode=0o600)
    job_dir.write_json("launch.json", asdict(Launch(argv, str(tmp_path), 0, **launch)))  # type: ignore[arg-type]
    return job_dir


def run_runner(job_dir: JobDir) -> None:
    """Start the runner as the server does; return once it detached."""
    argv = [PY, "-m", "neuro_jupyter.backends.local.runner", str(job_dir.path)]
    assert subprocess.run(argv, check=False, timeout=10).returncode == 0


def test_exit_codes_of_signals() -> None:
    assert exit_code_of(0) == 0 and exit_code_of(3) == 3
    assert exit_code_of(-9) == 137 and exit_code_of(-15) == 143


def test_usage() -> None:
    assert main([]) == 2


async def test_it_records_output_and_exit_code(tmp_path: Path) -> None:
    job_dir = prepare(tmp_path, ["sh", "-c", "echo $X; echo err >&2; exit 7"])
    run_runner(job_dir)
    await wait_for(lambda: job_dir.exit_code() is not None)
    assert job_dir.exit_code() == 7
    assert (tmp_path / "output.log").read_bytes() == b"1\nerr\n"
    started = job_dir.started()
    assert started is not None and started.attempt == 0 and started.pgid == started.pid
    await wait_for(lambda: not job_dir.runner_alive())


async def test_leftover_processes_end_with_the_command(tmp_path: Path) -> None:
    # The background sleep keeps the output pipe open; it must not keep the job alive.
    job_dir = prepare(tmp_path, ["sh", "-c", "sleep 60 & echo $! > bg.pid; exit 0"])
    run_runner(job_dir)
    await wait_for(lambda: job_dir.exit_code() is not None, timeout=5)
    background = int((tmp_path / "bg.pid").read_text())
    await wait_for(lambda: not alive(background), timeout=5)


async def test_the_killed_file_stops_the_command(tmp_path: Path) -> None:
    job_dir = prepare(tmp_path, ["sleep", "60"], grace=1.0)
    run_runner(job_dir)
    await wait_for(lambda: job_dir.started() is not None)
    job_dir.write_text("killed", "UserRequested")
    await wait_for(lambda: job_dir.exit_code() is not None, timeout=5)
    assert job_dir.exit_code() == 143


async def test_a_kill_before_the_start_runs_nothing(tmp_path: Path) -> None:
    job_dir = prepare(tmp_path, ["sh", "-c", "echo ran"])
    job_dir.write_text("killed", "UserRequested")
    run_runner(job_dir)
    await wait_for(lambda: not job_dir.runner_alive())
    assert job_dir.started() is None and job_dir.exit_code() is None


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_a_folder_it_cannot_read_ends_the_job_it_claimed(tmp_path: Path) -> None:
    job_dir = prepare(tmp_path, ["echo", "never"])
    (tmp_path / "launch.json").write_text("{")
    run_runner(job_dir)  # it claims the folder first, then reads it
    await wait_for(lambda: job_dir.exit_code() is not None)
    assert job_dir.exit_code() == 126
    assert "the job runner cannot set up" in (job_dir.read_text("cannot_run") or "")
    assert not (tmp_path / "output.log").exists()


@pytest.mark.skipif(not SUPPORTED, reason="wake-ups need Linux")
async def test_it_wakes_the_server_at_start_first_output_and_end(tmp_path: Path) -> None:
    script = "while [ ! -f go ]; do sleep 0.02; done; echo one; sleep 1; echo two"
    (tmp_path / "job").mkdir()
    job_dir = prepare(tmp_path / "job", ["sh", "-c", script])
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address(tmp_path))
        server.settimeout(10)
        run_runner(job_dir)
        assert server.recv(256) == b"job"  # running
        assert job_dir.started() is not None and not (tmp_path / "job" / "output.log").read_bytes()
        (tmp_path / "job" / "go").touch()
        assert server.recv(256) == b"job"  # the first output, not the second
        assert (tmp_path / "job" / "output.log").read_bytes() == b"one\n"
        assert server.recv(256) == b"job"  # the end
        assert job_dir.exit_code() == 0
        assert (tmp_path / "job" / "output.log").read_bytes() == b"one\ntwo\n"


@pytest.mark.skipif(not SUPPORTED, reason="wake-ups need Linux")
def test_a_rehearsal_leaves_nothing_behind_and_wakes_no_server(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address(tmp_path))
        server.settimeout(0.2)
        assert rehearse(tmp_path / ".spare-1")  # all the way
        assert list(tmp_path.iterdir()) == []
        assert not rehearse(tmp_path / ".spare-2", lambda: True)  # a request came: it stops
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(TimeoutError):
            server.recv(256)
