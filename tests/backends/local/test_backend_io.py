"""Reading a running local job: logs, exec (pipes and tty), telemetry."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.model import JobStatus, Reason

from ..utils import Recorder, make_job
from .test_backend import wait_for_output

PY = sys.executable


async def test_logs_keep_carriage_returns_and_follow_ends_with_the_job(
    backend: LocalBackend, recorder: Recorder, tmp_path: Path
) -> None:
    script = tmp_path / "progress.py"
    script.write_text(
        "import sys, time\n"
        "for i in range(3):\n"
        "    sys.stdout.write(f'{i}%\\r'); sys.stdout.flush(); time.sleep(0.1)\n"
        "print('done')\n"
    )
    job = make_job(f"{PY} {script}")
    await backend.start(job)
    followed = b"".join([chunk async for chunk in backend.logs(job, follow=True)])
    assert followed == b"0%\r1%\r2%\rdone\n"
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED


async def test_logs_with_timestamps_and_since(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sh -c 'echo one; echo two; sleep 0.3; echo three'")
    await backend.start(job)
    await recorder.end(job.id)
    stamped = b"".join([c async for c in backend.logs(job, timestamps=True)]).decode()
    lines = stamped.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["one", "two", "three"]
    times = [datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")) for line in lines]
    assert (times[2] - times[1]).total_seconds() >= 0.25
    since = [c async for c in backend.logs(job, since=times[2])]
    assert b"".join(since) == b"three\n"


async def test_exec_without_a_tty(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sh -c 'echo up; sleep 30'", env={"SHARED": "yes"})
    await backend.start(job)
    await wait_for_output(backend, job, b"up")
    session = await backend.exec(job, ["sh", "-c", "echo $SHARED $NEURO_JOB_ID; cat; exit 5"])
    await session.write(b"from stdin\n")
    await session.close_stdin()
    out = b""
    while chunk := await session.read():
        out += chunk
    assert out == f"yes {job.id}\nfrom stdin\n".encode()
    assert await session.wait() == 5
    await backend.kill(job, Reason.USER_REQUESTED)
    await recorder.end(job.id)


async def test_exec_with_a_tty(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("sleep 30")
    await backend.start(job)
    await recorder.until(job.id, JobStatus.RUNNING)
    session = await backend.exec(
        job,
        [PY, "-c", "import os, sys; print(os.isatty(0), os.get_terminal_size()); sys.exit(2)"],
        tty=True,
    )
    session.resize(30, 100)
    out = b""
    while chunk := await session.read():
        out += chunk
    assert await session.wait() == 2
    assert b"True" in out
    assert b"\r\n" in out  # the terminal's line discipline
    await backend.kill(job, Reason.USER_REQUESTED)
    await recorder.end(job.id)


async def test_telemetry_reads_the_process_tree(
    backend: LocalBackend, recorder: Recorder, tmp_path: Path
) -> None:
    script = tmp_path / "hold.py"
    script.write_text(
        "b = bytearray(50 * 2**20)\nprint('held', flush=True)\nimport time\ntime.sleep(30)\n"
    )
    job = make_job(f"sh -c '{PY} {script}; true'")
    await backend.start(job)
    await wait_for_output(backend, job, b"held")
    samples = backend.telemetry(job, interval=0.1)
    sample = await anext(samples)
    assert sample.memory > 50 * 2**20  # the python grandchild counts
    assert sample.gpu_utilization is None
    await backend.kill(job, Reason.USER_REQUESTED)
    await recorder.end(job.id)
    assert [s async for s in samples] == []  # ends once the job ended
