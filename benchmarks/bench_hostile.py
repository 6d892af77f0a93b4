"""Does one client's maximal requests slow everyone else down? (issue 14)

    python benchmarks/bench_hostile.py [--requests 400]

Starts a real ``jupyter server`` with the extension, then times ``GET presets``
(another client's cheap request) ``--requests`` times on an idle server, and
again while one client sends, back to back, the largest request of each kind:
the largest job spec accepted (64 KiB command, 64 KiB env, 64 shares, 16 tags,
a 4 KiB description), a 1 MiB spec with 50,000 shares (refused by counting),
a 2 MiB body (413), a body nested 100,000 levels (400) and ``GET jobs?all=true``
(a page of up to 100 of those jobs, at most 4 MiB). Prints p50/p99 of both
and their ratio; the target is a loaded p99 within 3x the idle one.
Not a test: pytest never collects it (it lives outside ``tests/``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from neuro_jupyter.jobs.limits import Limits
from tests.real_server import TOKEN, RealServer

LIMITS = Limits()
PRESET = {"name": "cpu-small", "cpu": 0.1, "memory": "64MB"}
HEADERS = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}


def hostile_requests() -> list[tuple[str, str, bytes, int]]:
    """(method, path, body, expected status) of the largest request of each kind."""
    largest = {
        "image": "ubuntu",
        "command": "true " + "x" * (LIMITS.command_length - 5),
        "env": {"BIG": "x" * (LIMITS.env_size - len("BIG=\0"))},
        "share": [f"user{i}" for i in range(LIMITS.shares)],
        "tags": [f"t{i}" for i in range(LIMITS.tags)],
        "description": "x" * 4096,
    }
    refused = {"image": "ubuntu", "command": "true", "share": ["u"] * 50_000}
    deep = "[" * 100_000 + "]" * 100_000
    return [
        ("POST", "jobs", json.dumps(largest).encode(), 201),
        ("POST", "jobs", json.dumps(refused).encode(), 400),
        ("POST", "jobs", b'{"description": "' + b"x" * (2 << 20) + b'"}', 413),
        ("POST", "jobs", deep.encode(), 400),
        ("GET", "jobs?all=true", b"", 200),
    ]


class Client:
    """One keep-alive connection to the API."""

    def __init__(self, api: str) -> None:
        url = urlsplit(api)
        self.root = url.path
        self.conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=120)

    def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, float]:
        start = time.perf_counter()
        self.conn.request(method, self.root + path, body=body or None, headers=HEADERS)
        response = self.conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - start


def presets_latencies(client: Client, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        status, seconds = client.call("GET", "presets")
        assert status == 200, status
        latencies.append(seconds)
    return latencies


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--only", type=int, default=None, help="send only the hostile request of this index"
    )
    parser.add_argument(
        "--cheap", action="store_true", help="the other client sends GET presets (a baseline)"
    )
    parser.add_argument(
        "--small", action="store_true", help="the other client creates small jobs (a baseline)"
    )
    parser.add_argument(
        "--queued",
        action="store_true",
        help="jobs created wait for capacity (a job holds it), so none runs on this machine",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "jupyter_server_config.py"
        preset = {**PRESET, "cpu": 1} if args.queued else PRESET
        config.write_text(
            f"c.NeuroJobs.presets = [{preset!r}]\nc.LocalBackend.cpus = 1\n"
            if args.queued
            else f"c.NeuroJobs.presets = [{preset!r}]\n"
        )
        server = RealServer(Path(tmp), extra_args=[f"--config={config}"])
        try:
            server.start()
            victim = Client(server.api)
            if args.queued:
                blocker = {"image": "ubuntu", "command": "sleep 3600", "life_span": 0}
                victim.call("POST", "jobs", json.dumps(blocker).encode())
            presets_latencies(victim, 50)  # warm up
            idle = presets_latencies(victim, args.requests)
            stop = threading.Event()
            sent: dict[str, list[float]] = {}

            def attack() -> None:
                hostile = Client(server.api)
                requests = hostile_requests()
                if args.only is not None:
                    requests = [requests[args.only]]
                if args.cheap:
                    requests = [("GET", "presets", b"", 200)]
                if args.small:
                    small = {"image": "ubuntu", "command": "true"}
                    requests = [("POST", "jobs", json.dumps(small).encode(), 201)]
                while not stop.is_set():
                    for method, path, body, expected in requests:
                        status, seconds = hostile.call(method, path, body)
                        assert status == expected, (path, status, expected)
                        sent.setdefault(f"{method} {path} {status}", []).append(seconds)

            thread = threading.Thread(target=attack, daemon=True)
            thread.start()
            time.sleep(1.0)  # the attack is under way
            loaded = presets_latencies(victim, args.requests)
            stop.set()
            thread.join(120)
        finally:
            server.stop()
    (idle_p50, idle_p99), (load_p50, load_p99) = summary(idle), summary(loaded)
    print(f"GET presets, {args.requests} requests each, ms")
    print(f"idle:                        p50 {idle_p50:7.2f}  p99 {idle_p99:7.2f}")
    print(f"beside maximal requests:     p50 {load_p50:7.2f}  p99 {load_p99:7.2f}")
    print(f"p99 ratio: {load_p99 / idle_p99:.2f}x (target <= 3x)")
    for kind, times in sent.items():
        print(f"  hostile {kind}: {len(times)} sent, p50 {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
