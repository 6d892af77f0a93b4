"""(b) Log streaming throughput of a job that wrote 1 GB, beside ``cat``.

A real jupyter server runs a job that prints SIZE bytes; then the whole log
is read through ``GET jobs/{id}/logs`` (chunked HTTP) and, in the same run,
by ``cat`` of the same file into /dev/null. Both read from the page cache.

    .venv/bin/python benchmarks/bench_logs.py [--size-mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_server import TOKEN, RealServer

CHUNK = 1 << 20


def read_api(server: RealServer, job_id: str) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    start = time.perf_counter()
    connection.request(
        "GET", f"/neuro/api/v1/jobs/{job_id}/logs", headers={"Authorization": f"token {TOKEN}"}
    )
    response = connection.getresponse()
    total = 0
    while chunk := response.read(CHUNK):
        total += len(chunk)
    elapsed = time.perf_counter() - start
    connection.close()
    return total, elapsed


def read_cat(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def read_cat_pipe(path: Path) -> float:
    """``cat`` into a pipe drained by this process, as the HTTP client drains the API."""
    start = time.perf_counter()
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while process.stdout.read(CHUNK):
            pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 2**20
    with tempfile.TemporaryDirectory() as tmp:
        server = RealServer(Path(tmp))
        server.start()
        try:
            script = f"yes 0123456789abcdef | head -c {size}"
            start = time.perf_counter()
            job = server.request(
                "POST", "jobs", {"image": "bench", "command": ["sh", "-c", script], "life_span": 0}
            )
            server.wait_job(job["id"], lambda j: j["status"] == "succeeded", timeout=600)
            print(f"job wrote {args.size_mb} MB in {time.perf_counter() - start:.1f} s")
            log = max(
                (server.data_dir / "jobs" / job["id"]).iterdir(), key=lambda p: p.stat().st_size
            )
            assert log.stat().st_size == size, log.stat().st_size
            read_cat(log)  # warm the page cache for both readers
            cat_times: list[float] = []
            pipe_times: list[float] = []
            api_times: list[float] = []
            for _ in range(args.rounds):
                cat_times.append(read_cat(log))
                pipe_times.append(read_cat_pipe(log))
                total, elapsed = read_api(server, job["id"])
                assert total == size, total
                api_times.append(elapsed)
            cat_rate = size / statistics.median(cat_times) / 2**20
            pipe_rate = size / statistics.median(pipe_times) / 2**20
            api_rate = size / statistics.median(api_times) / 2**20
            rounds = f"(median of {args.rounds})"
            print(f"cat LOG > /dev/null            {cat_rate:8.0f} MB/s {rounds}")
            print(f"cat LOG | reader (1 MiB reads) {pipe_rate:8.0f} MB/s {rounds}")
            print(f"GET jobs/{{id}}/logs            {api_rate:8.0f} MB/s {rounds}")
            print(f"ratio API / cat>/dev/null: {api_rate / cat_rate:.0%}")
            print(f"ratio API / cat|reader:    {api_rate / pipe_rate:.0%}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
