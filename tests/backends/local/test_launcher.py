"""The launcher (a warm fork server for runners) and the runners' wake-ups, with real processes."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import psutil
import pytest

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.backends.local.jobdir import JobDir, Launch
from neuro_jupyter.backends.local.launcher import LauncherClient, LauncherFault, stop_launcher
from neuro_jupyter.backends.local.notify import SUPPORTED
from neuro_jupyter.jobs.model import JobStatus
from tests.real_server import RealServer
from tests.utils import wait_for

from ..utils import Recorder, make_job
from .conftest import make_backend
from .test_runner import prepare, run_runner

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="the launcher needs Linux")

# Waits in the job's working dir until a file named "go" appears.
WAIT_FOR_GO = "sh -c 'while [ ! -f go ]; do sleep 0.02; done; echo went; exit 3'"


def launcher_of(jobs_dir: str | Path) -> psutil.Process | None:
    """The launcher process serving ``jobs_dir``, if one runs (not its forks)."""
    wanted = {str(jobs_dir), os.path.realpath(jobs_dir)}
    found = []
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        cmdline = proc.info["cmdline"] or []
        if "neuro_jupyter.backends.local.launcher" in cmdline and wanted & set(cmdline):
            found.append(proc)
    forks = {p.pid for p in found}  # its spare and runners share its command line
    return next((p for p in found if p.info["ppid"] not in forks), None)


@pytest.fixture
def work(dirs: dict[str, str]) -> Iterator[Path]:
    """The jobs' default working dir."""
    yield Path(dirs["default_workdir"])


async def test_runners_come_from_the_launcher_not_the_server(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    job = make_job("echo hi")
    await backend.start(job)
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
    launcher = launcher_of(dirs["jobs_dir"])
    assert launcher is not None and launcher.ppid() != os.getpid()
    assert os.getsid(launcher.pid) != os.getsid(0)  # a session of its own
    runner = recorder.apply(job).backend_state["runner_pid"]
    assert runner not in [p.pid for p in psutil.Process().children(recursive=True)]
    # The kernel reaps the launcher's children: no zombie once a runner ends;
    # what stays is the one spare, forked ahead for the next job.
    await wait_for(lambda: len(launcher.children()) == 1)
    (spare,) = launcher.children()
    assert spare.pid != runner and spare.status() != psutil.STATUS_ZOMBIE


async def test_a_killed_launcher_is_started_again(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    first = make_job("echo one")
    await backend.start(first)
    await recorder.end(first.id)
    old = launcher_of(dirs["jobs_dir"])
    assert old is not None
    old.kill()
    old.wait(5)
    second = make_job("echo two")
    await backend.start(second)
    assert (await recorder.end(second.id)).status is JobStatus.SUCCEEDED
    new = launcher_of(dirs["jobs_dir"])
    assert new is not None and new.pid != old.pid


async def test_jobs_outlive_the_launcher(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str], work: Path
) -> None:
    job = make_job(WAIT_FOR_GO)
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    launcher = launcher_of(dirs["jobs_dir"])
    assert launcher is not None
    launcher.kill()
    launcher.wait(5)
    (work / "go").touch()
    end = await recorder.end(job.id)
    assert (end.status, end.exit_code) == (JobStatus.FAILED, 3)


async def test_without_the_launcher_runners_are_spawned(dirs: dict[str, str]) -> None:
    backend = make_backend(dirs, use_launcher=False)
    await backend.setup()
    recorder = Recorder(backend)
    job = make_job("echo spawned")
    await backend.start(job)
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
    assert launcher_of(dirs["jobs_dir"]) is None
    await recorder.close()
    await backend.shutdown()


async def test_wake_ups_report_start_and_end_without_waiting_for_a_poll(
    dirs: dict[str, str], work: Path
) -> None:
    backend = make_backend(dirs, poll_interval=60.0)  # the watch loop polls once, at setup
    await backend.setup()
    recorder = Recorder(backend)
    job = make_job(WAIT_FOR_GO)
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING, timeout=5)
    (work / "go").touch()
    assert (await recorder.end(job.id, timeout=5)).exit_code == 3
    await recorder.close()
    await backend.shutdown()


async def test_the_launcher_starts_only_folders_of_its_jobs_dir(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    (tmp_path / "elsewhere").mkdir()
    elsewhere = prepare(tmp_path / "elsewhere", ["echo", "no"])
    client = LauncherClient(jobs, idle_timeout=60)
    try:
        with pytest.raises(LauncherFault, match="refused"):
            await client.launch(elsewhere)
        assert elsewhere.runner() is None
    finally:
        assert stop_launcher(jobs)


async def test_an_idle_launcher_ends_and_its_spare_with_it(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    (jobs / "a").mkdir(parents=True)
    job_dir = prepare(jobs / "a", ["echo", "hi"])
    assert await LauncherClient(jobs, idle_timeout=0.5).launch(job_dir) == 0
    launcher = launcher_of(jobs)
    assert launcher is not None
    # One snapshot is both waited on and used: read twice, the spare may have
    # ended with the idle launcher in between (issue 14).
    runner = job_dir.runner()
    assert runner is not None
    spares: list[psutil.Process] = []

    def spare_seen() -> bool:
        spares[:] = [c for c in launcher.children() if c.pid != runner.pid]
        return len(spares) == 1

    await wait_for(spare_seen)
    (spare,) = spares
    await wait_for(lambda: not launcher.is_running(), timeout=10)
    await wait_for(lambda: not spare.is_running(), timeout=5)
    assert stop_launcher(jobs) is False


async def test_a_folder_never_gets_two_runners(tmp_path: Path) -> None:
    script = "echo ran >> ran; while [ ! -f go ]; do sleep 0.02; done"
    job_dir = prepare(tmp_path, ["sh", "-c", script])
    run_runner(job_dir)
    await wait_for(lambda: job_dir.started() is not None)
    first = job_dir.runner()
    run_runner(job_dir)  # the second one sees the first's lock and leaves
    assert job_dir.runner() == first
    (tmp_path / "go").touch()
    await wait_for(lambda: job_dir.exit_code() is not None)
    assert (tmp_path / "ran").read_text() == "ran\n"


def test_jobs_outlive_a_killed_server_and_launcher(tmp_path: Path) -> None:
    server = RealServer(tmp_path)
    server.start()
    try:
        job = server.request(
            "POST", "jobs", {"image": "ubuntu", "command": WAIT_FOR_GO, "name": "survivor"}
        )
        server.wait_job("survivor", lambda j: j["status"] == "running")
        jobs_dir = server.data_dir / "jobs"
        launcher = launcher_of(jobs_dir)
        assert launcher is not None
        server.kill_hard()
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(5)

        server.start()
        (server.root_dir / "go").touch()
        done = server.wait_job("survivor", lambda j: j["status"] in ("succeeded", "failed"))
        assert (done["status"], done["exit_code"]) == ("failed", 3)
        assert server.request("GET", f"jobs/{job['id']}/logs") == b"went\n"
    finally:
        server.stop()
        stop_launcher(server.data_dir / "jobs")


async def test_a_dead_spare_is_replaced_on_the_next_start(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    first = make_job("echo one")
    await backend.start(first)
    await recorder.end(first.id)
    launcher = launcher_of(dirs["jobs_dir"])
    assert launcher is not None
    await wait_for(lambda: len(launcher.children()) == 1)
    (spare,) = launcher.children()
    spare.kill()
    spare.wait(5)
    second = make_job("echo two")
    await backend.start(second)
    assert (await recorder.end(second.id)).status is JobStatus.SUCCEEDED
    assert launcher.is_running()


async def test_a_runner_started_with_its_order_reads_no_files(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    (jobs / "a").mkdir(parents=True)
    job_dir = JobDir(jobs / "a")
    launch = Launch(["sh", "-c", "echo $X"], str(tmp_path), 0)
    order = {"launch": asdict(launch), "env": {"PATH": "/usr/bin:/bin", "X": "sent"}}
    sent: list[bool] = []
    client = LauncherClient(jobs, idle_timeout=60)
    try:
        assert await client.launch(job_dir, order, lambda: sent.append(True)) == 0
        assert sent == [True]  # called once the request left, before the answer
        await wait_for(lambda: job_dir.exit_code() is not None)
        assert (jobs / "a" / "output.log").read_bytes() == b"sent\n"
        assert not job_dir.exists("launch.json") and not job_dir.exists("env")
    finally:
        assert stop_launcher(jobs)
