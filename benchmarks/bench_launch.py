"""(a) Launch latency: create -> running and create -> first output byte.

Starts a real jupyter server with the extension (local backend) and creates
jobs one after another through the REST API; beside it, in the same run, a
bare ``subprocess.Popen`` of the same command. Prints p50/p95 in ms.

    .venv/bin/python benchmarks/bench_launch.py [--jobs 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_server import TOKEN, RealServer

COMMANDS = {
    "echo": ["echo", "x"],
    "python": [sys.executable, "-c", "print('x')"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def first_byte_popen(argv: list[str]) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.read(1)
    elapsed = time.perf_counter() - start
    process.stdout.read()
    process.wait()
    return elapsed


def first_byte_job(server: RealServer, argv: list[str]) -> tuple[float, float]:
    """Seconds from POST to the first byte of its followed log, and to running."""
    start = time.perf_counter()
    job = server.request("POST", "jobs", {"image": "bench", "command": argv, "life_span": 0})
    request = urllib.request.Request(
        f"{server.api}jobs/{job['id']}/logs?follow=true",
        headers={"Authorization": f"token {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read(1)
        elapsed = time.perf_counter() - start
        response.read()
    done = server.wait_job(job["id"], lambda j: j["started_at"] is not None)
    created = datetime.fromisoformat(done["created_at"].replace("Z", "+00:00"))
    started = datetime.fromisoformat(done["started_at"].replace("Z", "+00:00"))
    return elapsed, (started - created).total_seconds()


def report(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{label:<40} p50 {statistics.median(ms):8.1f} ms   p95 {percentile(ms, 0.95):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RealServer(Path(tmp))
        server.start()
        try:
            for _name, argv in COMMANDS.items():
                popen = [first_byte_popen(argv) for _ in range(args.jobs)]
                pairs = [first_byte_job(server, argv) for _ in range(args.jobs)]
                first = [p[0] for p in pairs]
                running = [p[1] for p in pairs]
                print(f"command: {' '.join(argv)}  ({args.jobs} jobs)")
                report("  bare Popen -> first byte", popen)
                report("  job create -> running (server clock)", running)
                report("  job create -> first byte (client)", first)
                ratio = statistics.median(first) / statistics.median(popen)
                print(f"  ratio p50 first byte job/Popen: {ratio:.1f}x")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
