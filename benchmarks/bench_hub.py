"""Hub relay (issue 9): ``GET jobs`` and a job's ``GET /small`` under a real
JupyterHub, beside the same requests to a single server (no hub), in one run.

One JupyterHub (``tests/hub/realhub.py``: configurable-http-proxy, the jobs
service, alice's ``jupyterhub-singleuser`` server) and one ``jupyter server``
with the extension (``tests/real_server.py``), each holding five jobs of
the same shapes: four finished ``echo`` jobs and one running
``benchmarks/upstream_bench.py`` with ``"http": {"port": P}``.

``GET jobs`` (the five jobs) by way of:

- hub path: the hub's port (CHP) -> alice's server, ``/user/alice/neuro/api/v1/jobs``
  (her server token) -> its relay -> the service's own port
- the service through CHP, ``/services/neuro/api/v1/jobs`` (her service token)
- the service's own port, no CHP
- the single server, ``/neuro/api/v1/jobs`` (its token): the baseline
- references: alice's server's own ``GET api/status`` through CHP (a jupyter
  handler that relays nothing) and the hub's own ``GET /hub/api/user``

A job's ``GET /small`` (13 bytes) by way of: CHP -> the service's job proxy
(a service token; a browser's OAuth cookie from the hub's login form); the
service's own port; the single server's ``/neuro/jobs/{id}/small``; the job's
port itself (the ceiling). And CHP alone: the same backend directly and
through a bare configurable-http-proxy of the hub's version
(``--default-target``), the proxy's own cost on a trivial handler.

Each path: its own keep-alive connection (``http.client``), sequential
requests, warm-up first; ``--rounds`` interleaved rounds of ``N/rounds``
requests per path, so all paths see the same minutes; p50/p95 over all N.
Beside each path, the CPU each process (client, CHP, hub, alice's server,
service, single server) spent per request while it ran (``/proc`` schedstat).
It waits (up to 3 minutes) for a 1-minute load of at most 1.5 first.
The hub's token cache is the service's production one (30 s), so no check
reaches the hub in a round. Everything listens on 127.0.0.1; all stops at the end.

    .venv/bin/python benchmarks/bench_hub.py [-n 300] [--rounds 3] [--warmup 50] [--no-wait]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import tornado

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_proxy import SMALL_BODY, start_backend, stop, wait_port
from neuro_jupyter.hub.service import GROUPS_FRESH_FOR
from tests.hub.realhub import SERVICE, RealHub, api, chp_command, wait_job
from tests.real_server import TOKEN, RealServer, free_port

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream_bench.py"
ECHO_JOBS = 4
HTTP_JOB = "small"
TARGET_RATIO = 1.5
MAX_LOAD = 1.5
GET_JOBS = ("hub", "svc_chp", "svc_direct", "single", "server_status", "hub_user")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"  # a browser's: login redirects


# --- timing --------------------------------------------------------------------------------


@dataclass
class Path_:
    """One way to one resource: a keep-alive connection and the request's headers."""

    name: str
    url: str
    headers: dict[str, str]
    expect: bytes | None = None  # the exact body, where known
    samples: list[float] = field(default_factory=list)
    size: int = 0
    conn: http.client.HTTPConnection | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # seconds of CPU per process, summed

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            parts = urlsplit(self.url)
            assert parts.hostname == "127.0.0.1", self.url
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        return self.conn

    def once(self) -> float:
        """One ``GET``; its seconds. Fails on anything but a 200 (and the expected body)."""
        parts = urlsplit(self.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = self._connection()
        start = time.perf_counter()
        conn.request("GET", target, headers=self.headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200 or (self.expect is not None and body != self.expect):
            raise RuntimeError(f"{self.name}: GET {self.url} -> {response.status} {body[:300]!r}")
        if response.will_close:  # keep-alive is the point: say so rather than reconnect quietly
            raise RuntimeError(f"{self.name}: the server closed the connection")
        self.size = len(body)
        return elapsed

    def run(self, n: int) -> None:
        self.samples += [self.once() for _ in range(n)]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def p(self, q: float) -> float:
        """The ``q`` quantile in ms."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1e3

    @property
    def p95(self) -> float:
        return self.p(0.95)


def cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds of ``process``'s live threads so far (``/proc``'s schedstat, in ns).

    psutil's ``cpu_times`` counts in 10 ms ticks, too coarse for a few
    hundred requests of a millisecond or two.
    """
    total = 0
    try:
        for stat in Path(f"/proc/{process.pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, ValueError):
                total += int(stat.read_text().split()[0])
    except OSError:
        return 0.0
    return total / 1e9


def measure(
    paths: list[Path_], n: int, rounds: int, warmup: int, processes: dict[str, psutil.Process]
) -> None:
    """Warm up, then ``rounds`` rounds of ``n / rounds`` requests per path, in turn.

    Beside the latencies, each path adds up the CPU each of ``processes``
    spent while it ran (all of it: a process's other work counts too).
    """
    for path in paths:
        for _ in range(warmup):
            path.once()
    per_round = max(1, n // rounds)
    for r in range(rounds):
        for path in paths:
            before = {k: cpu_seconds(p) for k, p in processes.items()}
            path.run(per_round)
            for k, p in processes.items():
                path.cpu[k] = path.cpu.get(k, 0.0) + cpu_seconds(p) - before[k]
        print(f"round {r + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)


# --- set-up --------------------------------------------------------------------------------


def quiet_machine(tries: int = 3, wait: float = 60) -> float:
    """Wait (up to ``tries`` minutes) for a 1-minute load of at most MAX_LOAD; the load."""
    load = os.getloadavg()[0]
    for _ in range(tries):
        if load <= MAX_LOAD:
            break
        print(f"load {load:.2f} > {MAX_LOAD}: waiting {wait:.0f} s", flush=True)
        time.sleep(wait)
        load = os.getloadavg()[0]
    return load


def echo_spec(i: int) -> dict[str, object]:
    return {"image": "bench", "name": f"echo{i}", "command": f"echo line {i}"}


def http_spec(port: int) -> dict[str, object]:
    command = [sys.executable, str(UPSTREAM), "--port", str(port)]
    return {"image": "bench", "name": HTTP_JOB, "command": command, "http": {"port": port}}


def fill_hub(client: httpx.Client, port: int) -> str:
    """alice's five jobs on the service; the HTTP job's ref."""
    for i in range(ECHO_JOBS):
        created = client.post("jobs", json=echo_spec(i))
        assert created.status_code == 201, created.text
    created = client.post("jobs", json=http_spec(port))
    assert created.status_code == 201, created.text
    for i in range(ECHO_JOBS):
        wait_job(client, f"echo{i}", lambda j: j["status"] == "succeeded")
    job = wait_job(client, HTTP_JOB, lambda j: j["status"] == "running")
    wait_port(port)
    return f"{job['name']}--{job['owner']}"


def fill_server(server: RealServer, port: int) -> str:
    """The same five jobs on the single server; the HTTP job's id."""
    for i in range(ECHO_JOBS):
        server.request("POST", "jobs", echo_spec(i))
    job = server.request("POST", "jobs", http_spec(port))
    for i in range(ECHO_JOBS):
        server.wait_job(f"echo{i}", lambda j: j["status"] == "succeeded")
    server.wait_job(job["id"], lambda j: j["status"] == "running")
    wait_port(port)
    return str(job["id"])


def browser_cookie(hub: RealHub, url: str) -> str:
    """A ``Cookie`` header of alice's browser for ``url``, after the hub's login and OAuth."""
    browser = hub.login("alice")  # an open client
    try:
        response = browser.get(url, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 200 and response.content == SMALL_BODY, response.text
        path = urlsplit(url).path
        cookies = [
            f"{c.name}={c.value}"
            for c in browser.cookies.jar
            if path.startswith(c.path or "/") and c.value is not None
        ]
    finally:
        browser.close()
    return "; ".join(cookies)


def start_chp(port: int, target: str, log: Path) -> subprocess.Popen[bytes]:
    """A bare configurable-http-proxy sending everything to ``target``."""
    env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN="bench-chp-api-token")
    argv = [chp_command(), "--ip", "127.0.0.1", "--port", str(port)]
    argv += ["--api-ip", "127.0.0.1", "--api-port", str(free_port())]
    argv += ["--default-target", target, "--log-level", "warn"]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_port(port, process=process)
    return process


def quietly(action: Callable[[], object]) -> None:
    """Clean-up that must not keep the rest of the clean-up from running."""
    try:
        action()
    except Exception as error:
        print(f"clean-up: {error}", file=sys.stderr)


def processes_of(hub: RealHub, server: RealServer) -> dict[str, psutil.Process]:
    """The processes a request may pass through, by role."""
    assert hub.process is not None and server.process is not None
    hub_process = psutil.Process(hub.process.pid)
    chp = [p for p in hub_process.children() if "configurable-http-proxy" in " ".join(p.cmdline())]
    service = hub.service_process()
    assert chp and service is not None
    return {
        "client": psutil.Process(),
        "CHP": chp[0],
        "hub": hub_process,
        "alice's server": psutil.Process(hub.server_pid("alice")),
        "service": service,
        "single server": psutil.Process(server.process.pid),
    }


def retry(probe: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except (RuntimeError, OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- report --------------------------------------------------------------------------------


def machine_line(load: float) -> str:
    import jupyter_server
    import jupyterhub

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    chp = subprocess.run([chp_command(), "--version"], capture_output=True, text=True)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    )
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit.stdout.strip()}, "
        f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}, tornado {tornado.version}, "
        f"jupyter_server {jupyter_server.__version__}, jupyterhub {jupyterhub.__version__}, "
        f"configurable-http-proxy {chp.stdout.strip()} (node {node.stdout.strip()}), "
        f"httpx {httpx.__version__}; load before {load:.2f}"
    )


def row(path: Path_, base: Path_ | None, note: str = "") -> str:
    ratio = f"{path.p50 / base.p50:.2f}x" if base is not None else "—"
    return (
        f"| {path.name} | {path.p50:.2f} ms | {path.p95:.2f} ms | {ratio} | {path.size:,} B "
        f"| {note} |"
    )


def report(p: dict[str, Path_], args: argparse.Namespace, load_after: float) -> None:
    hub, via_chp, direct, single = (p[k] for k in ("hub", "svc_chp", "svc_direct", "single"))
    print(
        f"\n## GET jobs ({ECHO_JOBS + 1} jobs), sequential keep-alive, N={args.n} per path "
        f"({args.rounds} interleaved rounds, {args.warmup} warm-up)\n"
    )
    print("| path | p50 | p95 | p50 / single server | body | |")
    print("|---|---|---|---|---|---|")
    print(row(hub, single, "CHP → alice's server (relay) → service"))
    print(row(via_chp, single, "CHP → service"))
    print(row(direct, single, "service's own port"))
    print(row(single, single, "**baseline**"))
    print(row(p["server_status"], single, "CHP → alice's server, relays nothing"))
    print(row(p["hub_user"], single, "CHP → hub"))

    print("\nCPU per request (ms; each process's CPU while the path ran, over its requests):\n")
    roles = list(hub.cpu)
    print(f"| path | {' | '.join(roles)} | all |")
    print(f"|---|{'---|' * (len(roles) + 1)}")
    for key in (*GET_JOBS, "job_hub_token", "job_hub_cookie", "job_svc_direct", "job_single"):
        path = p[key]
        n = len(path.samples)
        cells = [f"{path.cpu[r] / n * 1e3:.2f}" for r in roles]
        print(f"| {path.name} | {' | '.join(cells)} | {sum(path.cpu.values()) / n * 1e3:.2f} |")

    print("\n## A job's GET /small (13 bytes)\n")
    print("| path | p50 | p95 | p50 / single server | p50 / direct | |")
    print("|---|---|---|---|---|---|")
    jsingle, jdirect = p["job_single"], p["job_direct"]
    for key, note in (
        ("job_hub_token", "CHP → service's job proxy"),
        ("job_hub_cookie", "CHP → service's job proxy"),
        ("job_svc_direct", "service's own port"),
        ("job_single", "**baseline**"),
        ("job_direct", "ceiling"),
    ):
        path = p[key]
        print(
            f"| {path.name} | {path.p50:.2f} ms | {path.p95:.2f} ms "
            f"| {path.p50 / jsingle.p50:.2f}x | {path.p50 / jdirect.p50:.2f}x | {note} |"
        )

    print("\n## configurable-http-proxy alone, GET /small of the same backend\n")
    print("| path | p50 | p95 |")
    print("|---|---|---|")
    for key in ("bare_direct", "bare_chp"):
        print(f"| {p[key].name} | {p[key].p50:.2f} ms | {p[key].p95:.2f} ms |")

    ratio = hub.p50 / single.p50
    chp = via_chp.p50 - direct.p50
    relay = hub.p50 - via_chp.p50
    bare_chp = p["bare_chp"].p50 - p["bare_direct"].p50
    job_chp = p["job_hub_token"].p50 - p["job_svc_direct"].p50
    # The least this design can cost: the service's own answer, plus one request
    # through CHP to a jupyter handler of alice's server, less the one client
    # round trip the two count twice (the bare backend's).
    floor = direct.p50 + p["server_status"].p50 - p["bare_direct"].p50
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print("\n## Ratios\n")
    print(
        f"- hub path / single server, GET jobs p50: **{ratio:.2f}x** "
        f"(target ≤ {TARGET_RATIO}x: {verdict})"
    )
    print(f"- CHP's cost, GET jobs (service through CHP - its own port): **{chp:.2f} ms**")
    print(f"- CHP's cost, job GET /small (through CHP - the service's own port): {job_chp:.2f} ms")
    print(f"- CHP's cost on a trivial handler (bare CHP - direct): {bare_chp:.2f} ms")
    print(f"- the relay's cost (hub path - service through CHP): **{relay:.2f} ms**")
    print(
        f"- service's own port / single server, GET jobs p50: {direct.p50 / single.p50:.2f}x; "
        f"hub's GET /hub/api/user / single server: {p['hub_user'].p50 / single.p50:.2f}x"
    )
    print(
        f"- floor of the hub path (service's own port + alice's api/status through CHP "
        f"- one bare round trip): {floor:.2f} ms = {floor / single.p50:.2f}x the single "
        f"server; the hub path is {hub.p50 / floor:.2f}x that floor"
    )
    job_ratio = p["job_hub_token"].p50 / jsingle.p50
    cookie_ratio = p["job_hub_cookie"].p50 / jsingle.p50
    print(
        f"- job GET /small, hub (token) / single server: {job_ratio:.2f}x; "
        f"hub (browser cookie) / single server: {cookie_ratio:.2f}x"
    )
    print(f"- load after: {load_after:.2f}")


# --- the run -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="requests per path")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=50, help="requests per path first")
    parser.add_argument("--no-wait", action="store_true", help="skip waiting for a quiet machine")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    load = os.getloadavg()[0] if args.no_wait else quiet_machine()
    print(machine_line(load), flush=True)
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        (tmp / "server").mkdir()
        (tmp / "hub").mkdir()
        server = RealServer(tmp / "server")
        server.start()
        stack.callback(server.stop)
        hub = RealHub(tmp / "hub", cache_max_age=GROUPS_FRESH_FOR)
        stack.callback(hub.stop)
        hub.start()
        hub.start_server("alice")
        server_token = hub.server_token("alice")
        service_token = hub.service_token("alice")
        print("hub and server up", flush=True)

        hub_job_port, single_job_port, backend_port, chp_port = (free_port() for _ in range(4))
        alice = stack.enter_context(api(hub.service_url, service_token))
        ref = fill_hub(alice, hub_job_port)
        stack.callback(quietly, lambda: alice.delete(f"jobs/{HTTP_JOB}"))
        job_id = fill_server(server, single_job_port)
        stack.callback(quietly, lambda: server.request("DELETE", f"jobs/{job_id}"))
        backend = start_backend(backend_port, tmp / "backend.log")
        stack.callback(stop, backend)
        bare = start_chp(chp_port, f"http://127.0.0.1:{backend_port}", tmp / "chp.log")
        stack.callback(stop, bare)

        job_hub = f"{hub.url}services/{SERVICE}/jobs/{ref}/small"
        cookie = browser_cookie(hub, job_hub)
        server_auth = {"Authorization": f"token {server_token}"}
        service_auth = {"Authorization": f"token {service_token}"}
        single_auth = {"Authorization": f"token {TOKEN}"}
        direct_root = hub.service_direct_url.split(f"/services/{SERVICE}/")[0]
        job_direct = f"{direct_root}/services/{SERVICE}/jobs/{ref}/small"
        job_single = f"http://127.0.0.1:{server.port}/neuro/jobs/{job_id}/small"
        paths = {
            "hub": Path_("hub path: CHP → relay → service", f"{hub.server_api('alice')}jobs",
                         server_auth),
            "svc_chp": Path_("service through CHP", f"{hub.service_url}jobs", service_auth),
            "svc_direct": Path_("service, its own port", f"{hub.service_direct_url}jobs",
                                service_auth),
            "single": Path_("single server (no hub)", f"{server.api}jobs", single_auth),
            "server_status": Path_("alice's server `api/status` through CHP",
                                   f"{hub.url}user/alice/api/status", server_auth),
            "hub_user": Path_("hub `GET /hub/api/user` through CHP", f"{hub.url}hub/api/user",
                              service_auth),
            "job_hub_token": Path_("hub: CHP → service's job proxy, token", job_hub,
                                   service_auth, SMALL_BODY),
            "job_hub_cookie": Path_("hub: CHP → service's job proxy, browser cookie", job_hub,
                                    {"Cookie": cookie, "Accept": BROWSER_ACCEPT}, SMALL_BODY),
            "job_svc_direct": Path_("hub: service's own port, token", job_direct, service_auth,
                                    SMALL_BODY),
            "job_single": Path_("single server `neuro/jobs/{id}/small`", job_single,
                                single_auth, SMALL_BODY),
            "job_direct": Path_("the job's port, direct",
                                f"http://127.0.0.1:{single_job_port}/small", {}, SMALL_BODY),
            "bare_direct": Path_("backend direct", f"http://127.0.0.1:{backend_port}/small", {},
                                 SMALL_BODY),
            "bare_chp": Path_("backend through a bare CHP", f"http://127.0.0.1:{chp_port}/small",
                              {}, SMALL_BODY),
        }  # fmt: skip
        for path in paths.values():
            stack.callback(path.close)
            retry(path.once)
        measure(list(paths.values()), args.n, args.rounds, args.warmup, processes_of(hub, server))
        report(paths, args, os.getloadavg()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
