"""GPU check for the local backend, run once on a machine with an NVIDIA GPU.

Through JobService (the layer every handler calls) with the real store and
LocalBackend: a GPU-preset job must see exactly its own GPU
(CUDA_VISIBLE_DEVICES and torch.cuda.device_count() == 1) and its telemetry
must show GPU utilisation while it runs a matrix-multiply loop; a CPU job
must see no GPU. Prints what it saw; exits non-zero if a check fails.

    python benchmarks/gpu_check.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.presets import local_presets
from neuro_jupyter.service import JobService
from neuro_jupyter.store import JobStore

PROBE = """
import os, time, torch
print("CUDA_VISIBLE_DEVICES=%r" % os.environ.get("CUDA_VISIBLE_DEVICES"))
print("device_count=%d" % torch.cuda.device_count(), flush=True)
if torch.cuda.device_count():
    print("device=%s" % torch.cuda.get_device_name(0), flush=True)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    end = time.time() + SECONDS
    n = 0
    while time.time() < end:
        a = (a @ a).clamp_(-1, 1)
        n += 1
        if n % 50 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    print("matmuls=%d" % n)
"""


async def run_job(
    service: JobService, preset: str, seconds: float
) -> tuple[str, list[dict[str, float]]]:
    code = PROBE.replace("SECONDS", str(seconds))
    job = await service.create("gpu-check", {"image": "pytorch", "preset": preset,
                                             "command": [sys.executable, "-c", code]})  # fmt: skip
    job = await service.wait_for(job.id, lambda j: j.status.value != "pending", 60)
    samples = []
    async for sample in service.telemetry("gpu-check", job.id, 0.5):
        samples.append({"gpu": sample.gpu_utilization or 0.0, "gpu_memory": sample.gpu_memory or 0})
    job = await service.wait_for(job.id, lambda j: j.status.is_finished, 120)
    chunks = [c async for c in service.logs("gpu-check", job.id)]
    print(f"--- {preset}: {job.status.value} exit {job.exit_code}")
    return b"".join(chunks).decode(), samples


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        backend = LocalBackend(jobs_dir=f"{tmp}/jobs", storage_root=f"{tmp}/storage",
                               default_workdir=tmp, poll_interval=0.1)  # fmt: skip
        capacity = backend.capacity()
        presets = local_presets(int(capacity.cpu), capacity.memory, capacity.gpu_models)
        print("capacity:", capacity)
        print("presets:", [(p.name, p.cpu, p.memory, p.gpu, p.gpu_model) for p in presets])
        service = JobService(JobStore(f"sqlite:///{tmp}/jobs.sqlite"), backend, presets)
        await service.ready()
        failures = []
        try:
            gpu_out, gpu_samples = await run_job(service, "gpu-small", 20)
            print(gpu_out)
            busy = [s for s in gpu_samples if s["gpu"] > 0]
            top_util = max(s["gpu"] for s in gpu_samples)
            top_memory = max(s["gpu_memory"] for s in gpu_samples) / 2**30
            print(f"telemetry: {len(gpu_samples)} samples, {len(busy)} with GPU busy; "
                  f"max GPU util {top_util}%, max GPU memory {top_memory:.1f} GiB")  # fmt: skip
            if "CUDA_VISIBLE_DEVICES='0'" not in gpu_out or "device_count=1" not in gpu_out:
                failures.append("the GPU job did not see exactly one GPU")
            if not busy:
                failures.append("telemetry showed no GPU utilisation")
            cpu_out, _ = await run_job(service, "cpu-small", 0)
            print(cpu_out)
            if "CUDA_VISIBLE_DEVICES=''" not in cpu_out or "device_count=0" not in cpu_out:
                failures.append("the CPU job saw a GPU")
        finally:
            await service.close()
        print("RESULT:", "ok" if not failures else "; ".join(failures))
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
