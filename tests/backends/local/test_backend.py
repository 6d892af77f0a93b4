"""LocalBackend with real processes: statuses, output, kills, memory, scheduling."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from neuro_jupyter.backends.base import Backend, Endpoint
from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.backends.local.jobdir import JobDir, RunnerInfo, Started
from neuro_jupyter.backends.local.launching import JobFiles
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import (
    HttpSpec,
    Job,
    JobSpec,
    JobStatus,
    Preset,
    Reason,
    RestartPolicy,
)

from ..utils import SMALL, Recorder, make_job, wait_for
from .conftest import make_backend

PY = sys.executable


async def output(backend: LocalBackend, job: Job) -> bytes:
    """The job's whole output so far."""
    return b"".join([chunk async for chunk in backend.logs(job)])


async def wait_for_output(backend: LocalBackend, job: Job, text: bytes) -> None:
    """Wait until the job has printed ``text``."""

    async def printed() -> bool:
        return text in await output(backend, job)

    await wait_for(printed)


async def test_success_with_complete_output(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job(f"{PY} -c \"print('hello'); print('world')\"")
    backend.check(job.owner, job.spec, job.preset)
    await backend.start(job)
    end = await recorder.end(job.id)
    assert end.status is JobStatus.SUCCEEDED
    assert end.exit_code == 0
    statuses = [(i.status, i.reason) for i in recorder.items(job.id)]
    assert statuses[:2] == [
        (JobStatus.PENDING, Reason.CONTAINER_CREATING),
        (JobStatus.RUNNING, ""),
    ]
    assert await output(backend, recorder.apply(job)) == b"hello\nworld\n"


async def test_exit_code_fails_the_job(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sh -c 'echo oops; exit 3'")
    await backend.start(job)
    end = await recorder.end(job.id)
    assert (end.status, end.reason, end.exit_code) == (JobStatus.FAILED, Reason.ERROR, 3)
    assert "code 3" in end.description


async def test_kill_cancels_a_running_job(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sleep 30")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    await backend.kill(recorder.apply(job), Reason.USER_REQUESTED)
    await backend.kill(recorder.apply(job), Reason.USER_REQUESTED)  # idempotent
    end = await recorder.end(job.id, timeout=5)
    assert (end.status, end.reason, end.exit_code) == (
        JobStatus.CANCELLED,
        Reason.USER_REQUESTED,
        128 + 15,
    )
    assert [i.status for i in recorder.items(job.id)].count(JobStatus.CANCELLED) == 1


async def test_kill_escalates_to_sigkill_after_the_grace_period(
    dirs: dict[str, str],
) -> None:
    backend = make_backend(dirs, kill_grace_period=0.3)
    await backend.setup()
    recorder = Recorder(backend)
    try:
        ignore_term = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(30)"
        )
        job = make_job(f'{PY} -c "{ignore_term}"')
        await backend.start(job)
        await wait_for_output(backend, recorder.apply(job), b"ready")
        await backend.kill(recorder.apply(job), Reason.LIFE_SPAN_ENDED)
        end = await recorder.end(job.id, timeout=5)
        assert (end.status, end.reason, end.exit_code) == (
            JobStatus.CANCELLED,
            Reason.LIFE_SPAN_ENDED,
            128 + 9,
        )
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_memory_over_the_preset_is_oom_killed(
    backend: LocalBackend, recorder: Recorder
) -> None:
    hog = "b = bytearray(300 * 2**20); import time; time.sleep(30)"
    job = make_job(f'{PY} -c "{hog}"', preset=Preset("tiny", 0.5, 64 << 20))
    await backend.start(job)
    end = await recorder.end(job.id)
    assert (end.status, end.reason, end.exit_code) == (
        JobStatus.FAILED,
        Reason.OOM_KILLED,
        137,
    )
    assert "0.1 GiB" in end.description


async def test_a_job_that_does_not_fit_waits_then_runs_in_order(dirs: dict[str, str]) -> None:
    backend = make_backend(dirs, cpus=1.0)
    await backend.setup()
    recorder = Recorder(backend)
    try:
        first = make_job("sleep 30")
        second = make_job("echo second")
        await backend.start(first)
        await backend.start(second)
        waiting = await recorder.until(second.id, JobStatus.PENDING)
        assert waiting.reason == Reason.SCHEDULING
        assert "waiting for 1 CPU, 2.0 GiB: 0 CPU" in waiting.description
        assert backend.capacity().free_cpu == 0
        await recorder.until(first.id, JobStatus.RUNNING)
        assert not any(i.status is JobStatus.RUNNING for i in recorder.items(second.id))
        await backend.kill(recorder.apply(first), Reason.USER_REQUESTED)
        end = await recorder.end(second.id)
        assert end.status is JobStatus.SUCCEEDED
        first_end = recorder.events.index(
            next(e for e in recorder.events if e.job_id == first.id and e.item.status.is_finished)
        )
        second_runs = recorder.events.index(
            next(
                e
                for e in recorder.events
                if e.job_id == second.id and e.item.status is JobStatus.RUNNING
            )
        )
        assert first_end < second_runs
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_a_queued_job_is_cancelled_at_once(dirs: dict[str, str]) -> None:
    backend = make_backend(dirs, cpus=1.0)
    await backend.setup()
    recorder = Recorder(backend)
    try:
        first, second = make_job("sleep 30"), make_job("echo never")
        await backend.start(first)
        await backend.start(second)
        await backend.kill(recorder.apply(second), Reason.USER_REQUESTED)
        end = await recorder.end(second.id, timeout=1)
        assert (end.status, end.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
        assert [chunk async for chunk in backend.logs(second, follow=True)] == []
        await backend.kill(recorder.apply(first), Reason.USER_REQUESTED)
        await recorder.end(first.id)
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_gpus_are_handed_out_exclusively(dirs: dict[str, str]) -> None:
    backend = make_backend(dirs, gpus=2)
    await backend.setup()
    recorder = Recorder(backend)
    try:
        preset = Preset("gpu", 1, 1 << 30, gpu=1)
        jobs = [make_job('sh -c "echo $CUDA_VISIBLE_DEVICES"', preset) for _ in range(3)]
        for job in jobs:
            await backend.start(job)
        seen = []
        for job in jobs:
            assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
            seen.append(await output(backend, recorder.apply(job)))
        assert sorted(seen[:2]) == [b"0\n", b"1\n"]  # the third waited for a free one
        assert seen[2] in (b"0\n", b"1\n")
        assert backend.capacity().free_gpu == 2
    finally:
        await recorder.close()
        await backend.shutdown()


async def test_restart_on_failure_runs_the_command_again(
    backend: LocalBackend, recorder: Recorder, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    command = (
        f"sh -c 'if [ -e {marker} ]; then echo second; else touch {marker}; echo first; exit 1; fi'"
    )
    job = make_job(command, restart=RestartPolicy.ON_FAILURE)
    await backend.start(job)
    end = await recorder.end(job.id)
    assert end.status is JobStatus.SUCCEEDED
    running = [i.reason for i in recorder.items(job.id) if i.status is JobStatus.RUNNING]
    assert running == ["", Reason.RESTARTING]
    assert await output(backend, recorder.apply(job)) == b"first\nsecond\n"


async def test_a_missing_program_cannot_run(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("no-such-program-here --flag")
    await backend.start(job)
    end = await recorder.end(job.id)
    assert (end.status, end.reason, end.exit_code) == (JobStatus.FAILED, Reason.CANNOT_RUN, 127)
    assert "no-such-program-here" in end.description


async def test_environment_has_the_job_and_no_credentials(
    backend: LocalBackend, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("JPY_API_TOKEN", "JUPYTERHUB_API_TOKEN", "NEURO_API_TOKEN", "MY_SECRET"):
        monkeypatch.setenv(name, "leak")
    monkeypatch.setenv("NEURO_API_URL", "https://example.invalid/api")
    job = make_job("env", env={"GREETING": "hi"}, name="envjob")
    await backend.start(job)
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
    env = dict(
        line.split("=", 1)
        for line in (await output(backend, recorder.apply(job))).decode().splitlines()
        if "=" in line
    )
    assert env["NEURO_JOB_ID"] == job.id
    assert env["NEURO_JOB_NAME"] == "envjob"
    assert env["NEURO_JOB_OWNER"] == "alice"
    assert env["NEURO_JOB_PRESET"] == "cpu-small"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["GREETING"] == "hi"
    assert env["NEURO_API_URL"] == "https://example.invalid/api"
    assert "leak" not in env.values()
    assert not [k for k in env if "TOKEN" in k or "SECRET" in k]


async def test_endpoint_while_running(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sleep 30", http=HttpSpec(port=8123))
    assert await backend.endpoint(job) is None
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    assert await backend.endpoint(job) == Endpoint("127.0.0.1", 8123)
    await backend.kill(recorder.apply(job), Reason.USER_REQUESTED)
    await recorder.end(job.id)
    assert await backend.endpoint(job) is None


async def test_start_returns_before_the_runner_and_a_kill_meanwhile_stops_it(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    job = make_job("sleep 30")
    await backend.start(job)  # the runner starts in the background
    assert recorder.items(job.id) == []
    await backend.kill(recorder.apply(job), Reason.USER_REQUESTED)
    end = await recorder.end(job.id)
    assert (end.status, end.reason) == (JobStatus.CANCELLED, Reason.USER_REQUESTED)
    started = JobDir(Path(dirs["jobs_dir"]) / job.id).started()
    assert started is None  # the command never ran
    assert backend.capacity().free_cpu == 4.0


class FailingBackend(LocalBackend):
    """The runner never starts (a runtime fault)."""

    async def start_process(self, job_dir: JobDir, files: JobFiles | None = None) -> RunnerInfo:
        raise RuntimeError("no runner today")


async def test_a_runner_that_cannot_start_fails_the_job_and_frees_its_resources(
    dirs: dict[str, str],
) -> None:
    backend = FailingBackend(**dirs, cpus=1.0, memory=8 << 30, gpus=0, poll_interval=0.05)
    recorder = Recorder(backend)
    job = make_job("echo hi")
    await backend.start(job)  # returns before the runner starts
    end = await recorder.end(job.id)
    assert (end.status, end.reason) == (JobStatus.FAILED, Reason.CANNOT_RUN)
    assert "could not start: no runner today" in end.description
    assert backend.capacity().free_cpu == 1.0
    await recorder.close()


def test_check_refuses_what_this_machine_cannot_run(dirs: dict[str, str]) -> None:
    backend = make_backend(dirs, cpus=2.0, memory=4 << 30)
    with pytest.raises(InvalidSpec) as e:
        backend.check("alice", JobSpec("img", "echo"), Preset("big", 4, 1 << 30))
    assert e.value.field == "preset"
    assert "this machine offers 2 CPU, 4.0 GiB" in e.value.message
    with pytest.raises(InvalidSpec) as e:
        backend.check("alice", JobSpec("img", ""), SMALL)
    assert e.value.field == "command"
    assert "give one after the image" in e.value.message
    with pytest.raises(InvalidSpec) as e:
        backend.check("alice", JobSpec("img", "echo", workdir="/no/such/dir"), SMALL)
    assert e.value.field == "workdir"
    backend.check("alice", JobSpec("img", "echo", workdir="/"), SMALL)


def test_local_backend_is_a_backend(dirs: dict[str, str]) -> None:
    backend: Backend = make_backend(dirs)  # mypy checks the protocol structurally
    assert isinstance(backend, Backend)
    assert backend.runtime.startswith("local:")
    capacity = backend.capacity()
    assert (capacity.cpu, capacity.memory, capacity.gpu) == (4.0, 8 << 30, 0)


async def test_a_job_whose_folder_is_deleted_ends(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    # Nobody could follow or kill it any more: it must not run on unseen.
    job = make_job("sleep 30")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    started = recorder.apply(job).backend_state
    shutil.rmtree(Path(dirs["jobs_dir"]) / job.id)
    await wait_for(lambda: not psutil.pid_exists(started["child_pid"]), timeout=5)
    await wait_for(lambda: not psutil.pid_exists(started["runner_pid"]), timeout=5)


class EndsBetweenReads(JobDir):
    """A runner that starts its command and ends while the server reads its folder."""

    def started(self) -> Started | None:
        seen = super().started()
        if not self.exists("exit_code"):
            now = time.time()
            self.save_started(Started(0, os.getpid(), os.getpgrp(), now, now))
            self.write_text("exit_code", "0\n")
        return seen


class FastRunnerBackend(LocalBackend):
    """Its runner (this process, as far as the server can tell) is quicker than a check."""

    def _dir(self, job: Job) -> JobDir:
        return EndsBetweenReads(super()._dir(job).path)

    async def start_process(self, job_dir: JobDir, files: JobFiles | None = None) -> RunnerInfo:
        return RunnerInfo(os.getpid(), psutil.Process().create_time())


async def test_a_runner_that_starts_and_ends_between_two_reads_is_seen_running_then_ended(
    dirs: dict[str, str],
) -> None:
    backend = FastRunnerBackend(**dirs, cpus=1.0, memory=8 << 30, gpus=0, poll_interval=0.05)
    await backend.setup()
    recorder = Recorder(backend)
    job = make_job("echo hi")
    await backend.start(job)
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
    assert recorder.apply(job).status is JobStatus.SUCCEEDED  # pending -> running -> succeeded
    await recorder.close()
    await backend.shutdown()
