"""(b) Log streaming throughput of a job that wrote 1 GB, beside ``cat``.

A real jupyter server runs a job that prints SIZE bytes; then the whole log
is read through ``GET jobs/{id}/logs`` by ``curl`` into /dev/null and, in the
same run, by ``cat`` of the same file into /dev/null. Both read from the page
cache. Two more lines place the figure: a bare ``sendfile`` HTTP server read
by the same ``curl`` (what loopback TCP itself allows here), and a Python
reader (1 MiB reads) of the API beside the same reader of ``cat`` through a pipe.

    .venv/bin/python benchmarks/bench_logs.py [--size-mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_server import TOKEN, RealServer

CHUNK = 1 << 20


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def curl(url: str, *headers: str) -> None:
    argv = ["curl", "-sf", "-o", "/dev/null", *[a for h in headers for a in ("-H", h)], url]
    subprocess.run(argv, check=True)


def cat(path: Path) -> None:
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


def cat_pipe(path: Path) -> None:
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while process.stdout.read(CHUNK):
            pass


def python_reader(port: int, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
    response = connection.getresponse()
    while response.read(CHUNK):
        pass
    connection.close()


def bare_sendfile_server(path: Path) -> int:
    """A minimal HTTP/1.0 server that sends ``path`` with sendfile; its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            with client, open(path, "rb") as file:
                client.recv(65536)
                size = os.fstat(file.fileno()).st_size
                client.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                client.sendfile(file)

    threading.Thread(target=serve, daemon=True).start()
    port: int = listener.getsockname()[1]
    return port


def rate(size: int, times: list[float]) -> float:
    return size / statistics.median(times) / 2**20


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
            log = server.data_dir / "jobs" / job["id"] / "output.log"
            assert log.stat().st_size == size, log.stat().st_size
            api_path = f"/neuro/api/v1/jobs/{job['id']}/logs"
            api_url = f"http://127.0.0.1:{server.port}{api_path}"
            bare_url = f"http://127.0.0.1:{bare_sendfile_server(log)}/"
            auth = f"Authorization: token {TOKEN}"
            readers: dict[str, Callable[[], object]] = {
                "cat LOG > /dev/null": lambda: cat(log),
                "curl API > /dev/null": lambda: curl(api_url, auth),
                "curl bare sendfile server": lambda: curl(bare_url),
                "cat LOG | Python reader": lambda: cat_pipe(log),
                "API | Python reader": lambda: python_reader(server.port, api_path),
            }
            cat(log)  # warm the page cache for every reader
            times: dict[str, list[float]] = {label: [] for label in readers}
            for _ in range(args.rounds):
                for label, read in readers.items():
                    times[label].append(timed(read))
            rates = {label: rate(size, t) for label, t in times.items()}
            for label, value in rates.items():
                print(f"{label:<28} {value:8.0f} MB/s (median of {args.rounds})")
            base = rates["cat LOG > /dev/null"]
            print(f"ratio API (curl) / cat:            {rates['curl API > /dev/null'] / base:.0%}")
            bare = rates["curl bare sendfile server"]
            print(f"ratio API (curl) / bare sendfile:  {rates['curl API > /dev/null'] / bare:.0%}")
            pipe = rates["cat LOG | Python reader"]
            print(f"ratio API / cat, Python reader:    {rates['API | Python reader'] / pipe:.0%}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
