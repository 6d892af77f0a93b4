"""What the kubernetes backend costs the API server: requests per job and per ``ps``.

    python benchmarks/bench_k8s_requests.py [--jobs 1,10,200]

JobService over a SQLite store and a KubernetesBackend that talks HTTP to the
Kubernetes API emulator of tests/k8s (in this process; one node taking 1000
pods; its kubelet runs each pod's command as a local process). Counts, from
the emulator's request log:

- one job's life, create -> succeeded (its log archived) and create -> kill;
- ``ps`` (``JobService.list_jobs``, what ``GET jobs`` serves): none expected;
- N concurrent jobs (``sh -c 'sleep 2'``) for each N of ``--jobs``: requests
  per job must stay constant (no polling loop), and one watch serves them all
  (the emulator's ``max_open_watches``).

Not a test: pytest never collects it (it lives outside ``tests/``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neuro_jupyter.backends.kubernetes import KubernetesBackend
from neuro_jupyter.jobs.model import Job, ListJobsQuery, Preset
from neuro_jupyter.service import JobService
from neuro_jupyter.store import JobStore
from tests.k8s.emulator import KubernetesEmulator, RecordedRequest
from tests.k8s.kubelet import KubeletConfig
from tests.k8s.scheduler import Node

PRESETS = [Preset("cpu-small", 0.01, 64 << 20)]


def kind(r: RecordedRequest) -> str:
    """``POST pods``, ``GET pods watch``, ``GET log``, ``DELETE pod``…"""
    tail = r.path.rstrip("/").rsplit("/", 1)[-1]
    what = "pods" if tail == "pods" else ("pod" if tail.startswith("job-") else tail)
    return f"{r.method} {what}{' watch' if r.watch else ''}"


def counts(requests: list[RecordedRequest]) -> Counter[str]:
    return Counter(kind(r) for r in requests)


async def settled(service: JobService, jobs: list[Job], timeout: float = 120) -> None:
    """Every job finished and its log archived."""
    backend = service.backend
    assert isinstance(backend, KubernetesBackend)
    for job in jobs:
        await service.wait_for(job.id, lambda j: j.status.is_finished, timeout)
    deadline = time.monotonic() + timeout
    while not all(backend._log_done(job) for job in jobs):
        if time.monotonic() > deadline:
            raise TimeoutError("logs not archived")
        await asyncio.sleep(0.05)


async def wave(service: JobService, k8s: KubernetesEmulator, n: int) -> tuple[Counter[str], float]:
    k8s.reset_requests()
    started = time.monotonic()
    jobs = await asyncio.gather(
        *(service.create("alice", {"image": "u", "command": "sh -c 'sleep 2'"}) for _ in range(n))
    )
    await settled(service, list(jobs))
    return counts([r for r in k8s.requests if not r.open]), time.monotonic() - started


async def main(sizes: list[int]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-k8s-"))
    config = KubeletConfig(
        nodes=[Node(cpu=64, memory="256Gi", pods=1000)], state_dir=tmp / "kubelet"
    )
    async with KubernetesEmulator(config) as k8s:
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig")
        backend = KubernetesBackend(
            kubeconfig=str(kubeconfig), jobs_dir=str(tmp / "jobs"), kill_grace_period=1
        )
        store = JobStore(f"sqlite:///{tmp / 'jobs.sqlite'}")
        service = JobService(store, backend, PRESETS)
        await service.ready()
        rows: list[tuple[str, Counter[str]]] = []
        try:
            k8s.reset_requests()
            job = await service.create("alice", {"image": "u", "command": "echo hi"})
            await settled(service, [job])
            rows.append(("create -> succeeded", counts([r for r in k8s.requests if not r.open])))

            k8s.reset_requests()
            job = await service.create("alice", {"image": "u", "command": "sleep 60"})
            await service.wait_for(job.id, lambda j: j.status.value == "running", 30)
            await service.kill("alice", job.id, wait=30)
            await settled(service, [job])
            rows.append(("create -> kill", counts([r for r in k8s.requests if not r.open])))

            k8s.reset_requests()
            for _ in range(100):
                service.list_jobs(ListJobsQuery(viewer="alice"))
            rows.append(("ps x100", counts([r for r in k8s.requests if not r.open])))

            print(f"{'':22} {'requests':>8}  by kind")
            for name, c in rows:
                detail = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                print(f"{name:22} {sum(c.values()):8}  {detail or '-'}")
            print()
            print(f"{'concurrent jobs':>15} {'requests':>8} {'per job':>8} {'watches':>8} {'s':>6}")
            for n in sizes:
                c, took = await wave(service, k8s, n)
                watches = len(k8s.open_watches)
                print(
                    f"{n:15} {sum(c.values()):8} {sum(c.values()) / n:8.2f} {watches:8} {took:6.1f}"
                )
                detail = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                print(f"{'':15} {detail}")
            print(f"\nmax open watches over the whole run: {k8s.max_open_watches}")
        finally:
            await service.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,10,200", help="concurrent job counts")
    args = parser.parse_args()
    os.environ.pop("KUBECONFIG", None)
    asyncio.run(main([int(n) for n in args.jobs.split(",")]))
