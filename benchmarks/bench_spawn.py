"""Spawn -> server ready under a real JupyterHub (issue 10): the notebook server
as a job (NeuroJobSpawner, one machine) beside the hub's own local-process
spawner (SimpleLocalProcessSpawner, a LocalProcessSpawner), in one run.

Two hubs (``tests/hub/realhub.py``), the same single-user command (JupyterLab
with the extension). For each of ``-n`` rounds, alternately on each hub:
``POST /hub/api/users/alice/server`` until the hub says the server is ready
(the hub's own readiness check of the server's HTTP), then ``DELETE`` and wait
until it is gone. p50/p95 of spawn -> ready; target: the job spawner within
1.5x of the local-process one. Everything listens on 127.0.0.1 and stops at the end.

    .venv/bin/python benchmarks/bench_spawn.py [-n 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hub.fixtures import NEURO_CONFIG
from tests.hub.realhub import RealHub


def spawn_once(hub: RealHub, user: str, body: dict[str, str] | None) -> float:
    """Seconds from the spawn request to the hub's "ready"; the server is stopped after."""
    started = time.perf_counter()
    response = hub.admin("POST", f"users/{user}/server", body)
    assert response.status_code in (201, 202), response.text
    while not hub.server_ready(user):
        time.sleep(0.01)
    took = time.perf_counter() - started
    hub.stop_server(user)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="spawns per spawner")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "local").mkdir()
        (root / "job").mkdir()
        local = RealHub(root / "local")
        as_job = RealHub(root / "job", neuro_config=NEURO_CONFIG)
        local.start()
        as_job.start()
        try:
            spawn_once(local, "alice", None)  # warm-up: imports, caches
            spawn_once(as_job, "alice", {"preset": "cpu-small"})
            times: dict[str, list[float]] = {"local": [], "job": []}
            for _ in range(args.n):
                times["local"].append(spawn_once(local, "alice", None))
                times["job"].append(spawn_once(as_job, "alice", {"preset": "cpu-small"}))
        finally:
            as_job.stop()
            local.stop()
    load = os.getloadavg()[0]
    p50 = {k: statistics.median(v) for k, v in times.items()}
    p95 = {k: sorted(v)[max(0, int(len(v) * 0.95) - 1)] for k, v in times.items()}
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load {load:.2f}, n={args.n}")  # fmt: skip
    print("| spawner | spawn -> ready p50 | p95 |")
    print("|---|---|---|")
    print(f"| SimpleLocalProcessSpawner (baseline) | {p50['local']:.2f} s | {p95['local']:.2f} s |")
    print(f"| NeuroJobSpawner (server as a job) | {p50['job']:.2f} s | {p95['job']:.2f} s |")
    ratio = p50["job"] / p50["local"]
    print(f"ratio (p50): {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
