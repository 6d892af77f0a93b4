"""Proxy (issue 4): a job's HTTP port through our proxy, beside the same backend
served directly and through jupyter-server-proxy 4.6, all in one run.

Three ways to the same tiny tornado backend (``benchmarks/upstream_bench.py``):

- direct: ``http://127.0.0.1:P/…``
- jupyter-server-proxy 4.6: a ``jupyter server`` from its own venv
  (``benchmarks/.venv-jsp``, never the project's ``.venv``) with token auth,
  at its standard route ``/proxy/P/…``
- ours: a real ``jupyter server`` with this extension (``tests.real_server``);
  the backend runs as a job with ``"http": {"port": Q, "auth": true}``,
  reached at ``{base_url}neuro/jobs/{id}/…``
- nginx + forward-auth (issue 11): Debian's nginx with deploy/ingress/nginx/
  in front of that server, asking its ``GET neuro/api/v1/auth`` (answers
  cached 5 s) and forwarding to the job itself

Every request carries ``Authorization: token …`` (the backend ignores it).
Small requests: ``wrk`` on ``GET /small`` (keep-alive) -> requests/s, p50/p99;
beside them, our server's own ``GET api/status``, a jupyter handler that proxies
nothing: the most any proxy inside that server could pass.
Downloads: ``curl`` of ``GET /big`` into /dev/null, 1 GB and 100 MB (the most
jupyter-server-proxy buffers) -> MB/s and the serving process's RSS growth
(psutil, sampled every 5 ms; for "ours" the jupyter server, not the job).
MB = 2**20 bytes. Where our proxy does not answer yet, its rows say "not
available yet" and why, and the rest still runs.

    apt-get install wrk                                        # once
    .venv/bin/python benchmarks/bench_proxy.py --setup-jsp     # once: benchmarks/.venv-jsp
    .venv/bin/python benchmarks/bench_proxy.py [--duration 10] [--wrk-rounds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
import tornado

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_server import TOKEN, RealServer, free_port
from tests.server.nginx import NGINX, Nginx

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream_bench.py"
JSP_VENV = HERE / ".venv-jsp"
JSP_REQUIREMENT = "jupyter-server-proxy==4.6.*"
SMALL_BODY = b"hello, proxy\n"
AUTH = f"Authorization: token {TOKEN}"
MB = 1 << 20
SSE = "text/event-stream"
CEILING = "jupyter-server's own `GET api/status` (nothing proxied)"


# --- processes -----------------------------------------------------------------------------


def wait_port(
    port: int, timeout: float = 30, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited ({process.returncode}) before port {port} opened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def probe(url: str, timeout: float = 20) -> tuple[int, bytes]:
    """``GET url`` until it answers the backend's small body (or the time is up)."""
    deadline = time.monotonic() + timeout
    status, body = 0, b""
    while time.monotonic() < deadline:
        try:
            status, body = get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            status, body = 0, str(error).encode()
        if status == 200 and body == SMALL_BODY:
            break
        time.sleep(0.2)
    return status, body


def start_backend(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(UPSTREAM), "--port", str(port)], stdout=out, stderr=out
        )
    wait_port(port, process=process)
    return process


def jsp_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def jsp_versions(venv: Path) -> str | None:
    """``jupyter-server-proxy X, jupyter_server Y, tornado Z`` of the venv, or None."""
    code = (
        "import importlib.metadata as m; "
        "print(', '.join(f'{p} {m.version(p)}' for p in "
        "('jupyter-server-proxy', 'jupyter_server', 'tornado')))"
    )
    python = jsp_python(venv)
    if not python.exists():
        return None
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def setup_jsp(venv: Path) -> None:
    """Create ``venv`` with jupyter-server-proxy 4.6 and the same jupyter_server/tornado as ours."""
    import jupyter_server

    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pins = [JSP_REQUIREMENT, f"jupyter_server=={jupyter_server.__version__}"]
    pins.append(f"tornado=={tornado.version}")
    pip = [str(jsp_python(venv)), "-m", "pip", "install", "-q", *pins]
    subprocess.run(pip, check=True)


def start_jsp(venv: Path, port: int, root: Path) -> subprocess.Popen[bytes]:
    """A plain ``jupyter server`` from ``venv`` with jupyter-server-proxy, isolated config."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    for name in ("CONFIG", "DATA", "RUNTIME"):
        (root / name.lower()).mkdir(exist_ok=True)
        env[f"JUPYTER_{name}_DIR"] = str(root / name.lower())
    argv = [
        str(jsp_python(venv)), "-m", "jupyter_server",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
        "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with (root / "server.log").open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_port(port, process=process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- measurements --------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    base: str  # the backend's root through this path, no trailing slash
    pid: int  # the process whose RSS a download may grow
    log: Path | None = None
    small: str = "/small"  # what wrk asks for, after base
    proxies: bool = True  # False: a reference row, no downloads


@dataclass
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors

    @classmethod
    def parse(cls, text: str, percentiles: bool = True) -> Wrk:
        def latency(q: str) -> float:
            if not percentiles:
                return float("nan")
            match = re.search(rf"^\s*{q}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
            assert match, text
            scale = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[match[2]]
            return float(match[1]) * scale

        rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
        total = re.search(r"^\s*(\d+) requests in", text, re.M)
        assert rps and total, text
        errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        errors += int(non2xx[1]) if non2xx else 0
        return cls(float(rps[1]), latency("50"), latency("99"), int(total[1]), errors)


def wrk(url: str, threads: int, connections: int, duration: float, latency: bool = True) -> Wrk:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "-H", AUTH, url]
    if latency:
        argv.insert(1, "--latency")
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return Wrk.parse(result.stdout, latency)


class RssPeak:
    """The highest RSS of ``pid`` while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.005)

    def __enter__(self) -> RssPeak:
        self.before = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Download:
    size: int
    status: int
    received: int
    seconds: float
    rss_before: int
    rss_peak: int
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.received == self.size

    @property
    def mb_s(self) -> float:
        return self.received / self.seconds / MB if self.seconds else 0.0

    @property
    def growth(self) -> int:
        return self.rss_peak - self.rss_before


def download(target: Target, size: int, *headers: str) -> Download:
    url = f"{target.base}/big?bytes={size}"
    argv = ["curl", "-sS", "--max-time", "600", "-o", "/dev/null", "-w"]
    argv += ["%{http_code} %{size_download} %{time_total}", "-H", AUTH]
    argv += [a for h in headers for a in ("-H", h)]
    log_size = target.log.stat().st_size if target.log and target.log.exists() else 0
    with RssPeak(target.pid) as rss:
        result = subprocess.run([*argv, url], capture_output=True, text=True)
    status, received, seconds = result.stdout.split()
    note = result.stderr.strip()
    if int(status) != 200 and target.log is not None:
        note = last_error(target.log, log_size) or note
    return Download(
        size, int(status), int(received), float(seconds), rss.before, rss.peak, note
    )  # fmt: skip


def last_error(log: Path, offset: int) -> str:
    """The server's reason for a refusal, from ``log`` past ``offset``, log prefix dropped."""
    time.sleep(0.2)
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read().decode(errors="replace").splitlines()
    for pattern in (r"too long|Malformed|Connection closed", r"Error|\b[45]\d\d\b"):
        hits = [ln for ln in lines if re.search(pattern, ln)]
        if hits:
            return re.sub(r"^\[\w [^]]*\]\s*", "", hits[0].strip())[:160]
    return ""


# --- the run -------------------------------------------------------------------------------


@dataclass
class Row:
    """Downloads of one size through one path; several rounds, or one refusal."""

    label: str
    size: int
    runs: list[Download] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(d.ok for d in self.runs)

    @property
    def mb_s(self) -> float:
        return statistics.median(d.mb_s for d in self.runs) if self.ok else 0.0

    @property
    def growth(self) -> int:
        return max(d.growth for d in self.runs)

    def cells(self) -> str:
        first = self.runs[0]
        if self.ok:
            result, rate = "200, complete", f"{self.mb_s:,.0f}"
        else:
            result = f"{first.status}, {fmt_mb(first.received)} received"
            result += f": {first.note}" if first.note else ""
            rate = "—"
        return (
            f"| {self.label} | {fmt_mb(self.size)} | {result} | {rate} "
            f"| {fmt_mb(first.rss_before)} | {fmt_mb(self.growth)} |"
        )


def median_run(runs: list[Wrk]) -> Wrk:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def kill_job(server: RealServer, ref: str) -> None:
    try:
        server.request("DELETE", f"jobs/{ref}")
    except (urllib.error.URLError, ConnectionError) as error:
        print(f"could not kill job {ref}: {error}", file=sys.stderr)


def start_ours(stack: ExitStack, tmp: Path, port: int) -> tuple[Target | None, str]:
    """Our server with the backend as a job; the target, or None and why not."""
    (tmp / "ours").mkdir()
    server = RealServer(tmp / "ours")
    server.start()
    stack.callback(server.stop)
    command = [sys.executable, str(UPSTREAM), "--port", str(port)]
    spec = {"image": "bench", "command": command, "http": {"port": port, "auth": True}}
    try:
        job = server.request("POST", "jobs", {**spec, "life_span": 0})
    except urllib.error.HTTPError as error:
        return None, f"POST jobs -> {error.code} {error.read().decode(errors='replace')[:200]}"
    stack.callback(kill_job, server, job["id"])
    server.wait_job(job["id"], lambda j: j["status"] in ("running", "failed", "succeeded"))
    wait_port(port)
    base = f"http://127.0.0.1:{server.port}{server.base_url}neuro/jobs/{job['id']}"
    status, body = probe(f"{base}/small")
    if status != 200 or body != SMALL_BODY:
        return None, f"GET {base}/small -> {status} {body[:120]!r}"
    assert server.process is not None
    return Target("ours", base, server.process.pid, server.log), ""


NGINX_ROW = "nginx + forward-auth"


def start_nginx(stack: ExitStack, tmp: Path, ours: Target) -> tuple[Target | None, str]:
    """deploy/ingress/nginx/ in front of our server: Jupyter decides (answers
    cached), nginx carries the bytes to the job (issue 11)."""
    if NGINX is None:
        return None, "no nginx: apt-get install nginx-light"
    port = int(ours.base.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    nginx = Nginx(tmp / "nginx", port)
    nginx.start()
    stack.callback(nginx.stop)
    job_path = ours.base.split(f":{port}", 1)[1]
    base = f"http://127.0.0.1:{nginx.port}{job_path}"
    status, body = probe(f"{base}/small")
    if status != 200 or body != SMALL_BODY:
        return None, f"GET {base}/small -> {status} {body[:120]!r}"
    [worker] = nginx.workers()
    return Target(NGINX_ROW, base, worker.pid, nginx.log), ""


def framework_ceiling(ours: Target) -> Target:
    """Our server's own ``GET api/status``: a jupyter handler that proxies nothing.

    The same process, login and tornado stack as ours; no proxy can pass
    more small requests than this.
    """
    root = ours.base.split("neuro/jobs/", 1)[0]
    return Target(CEILING, f"{root}api", ours.pid, ours.log, small="/status", proxies=False)


def fmt_mb(n: int) -> str:
    return f"{n / MB:,.0f} MB" if abs(n) >= 10 * MB else f"{n / MB:,.1f} MB"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(
    small: dict[str, list[Wrk]], rows: list[Row], args: argparse.Namespace, missing: dict[str, str]
) -> None:
    print(
        f"\n## Small requests: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s"
        f" --latency, GET /small (median of {args.wrk_rounds})"
        + (", servers pinned to CPU 0, the rest to CPU 1" if args.pin else "")
        + "\n"
    )
    print("| path | requests/s | p50 | p99 | errors |")
    print("|---|---|---|---|---|")
    best = {name: median_run(runs) for name, runs in small.items()}
    for name, run in best.items():
        errors = sum(r.errors for r in small[name])
        print(f"| {name} | {run.rps:,.0f} | {run.p50_ms:.2f} ms | {run.p99_ms:.2f} ms | {errors} |")
    for name in missing:
        print(f"| {name} | not available yet | | | |")

    print(
        f"\n## Downloads: curl GET /big > /dev/null ({args.rounds} rounds of the "
        f"{args.big_mb} MB one: median speed, largest RSS growth; MB = 2^20 bytes)\n"
    )
    print("| path | size | result | MB/s | server RSS before | RSS growth (peak) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.cells())
    for name in missing:
        print(f"| {name} | {args.big_mb} MB | not available yet | | | |")

    print("\n## Ratios and targets\n")
    direct, jsp, ours = (best.get(k) for k in ("direct", "jupyter-server-proxy", "ours"))
    if jsp and direct:
        print(f"- jupyter-server-proxy / direct, requests/s: {jsp.rps / direct.rps:.1%}")
    if ours and jsp:
        ratio = ours.rps / jsp.rps
        print(
            f"- ours / jupyter-server-proxy, requests/s: {ratio:.1f}x "
            f"(>= 10x: {verdict(ratio >= 10)})"
        )
    if ours and direct:
        ratio = ours.rps / direct.rps
        print(f"- ours / direct, requests/s: {ratio:.0%} (>= 40%: {verdict(ratio >= 0.4)})")
    ceiling = best.get(CEILING)
    if ceiling and direct:
        print(f"- {CEILING} / direct, requests/s: {ceiling.rps / direct.rps:.0%}")
    if ceiling and ours:
        print(f"- ours / {CEILING}, requests/s: {ours.rps / ceiling.rps:.0%}")
    fronted = best.get(NGINX_ROW)
    if fronted and direct:
        ratio = fronted.rps / direct.rps
        print(f"- {NGINX_ROW} / direct, requests/s: {ratio:.0%} (>= 50%: {verdict(ratio >= 0.5)})")
    if fronted and jsp:
        ratio = fronted.rps / jsp.rps
        print(
            f"- {NGINX_ROW} / jupyter-server-proxy, requests/s: {ratio:.1f}x "
            f"(>= 10x: {verdict(ratio >= 10)})"
        )
    if ceiling and ours:
        ratio = ours.rps / ceiling.rps
        print(f"- ours / {CEILING}: {ratio:.0%} (>= 75%: {verdict(ratio >= 0.75)})")
    big = {row.label: row for row in rows if row.size == args.big_mb * MB}
    if NGINX_ROW in big and "direct" in big:
        n, d = big[NGINX_ROW], big["direct"]
        ratio = n.mb_s / d.mb_s if d.mb_s else 0.0
        print(
            f"- {NGINX_ROW} / direct, {args.big_mb} MB download: {ratio:.0%} "
            f"(>= 80%: {verdict(ratio >= 0.8)}); nginx worker RSS growth {fmt_mb(n.growth)}"
        )
    if "ours" in big and "direct" in big:
        o, d = big["ours"], big["direct"]
        ratio = o.mb_s / d.mb_s if d.mb_s else 0.0
        print(
            f"- ours / direct, {args.big_mb} MB download: {ratio:.0%} "
            f"(>= 50%: {verdict(ratio >= 0.5)})"
        )
        grown = o.growth < 50 * MB
        print(f"- ours, server RSS growth on it: {fmt_mb(o.growth)} (< 50 MB: {verdict(grown)})")
    for name, why in missing.items():
        print(f"- {name}: not available yet ({why})")


def machine_line(jsp: str | None) -> str:
    import jupyter_server

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"tornado {tornado.version}, jupyter_server {jupyter_server.__version__}, "
        f"{' '.join(wrk_version[:2])}; baseline venv: {jsp or 'none'}; "
        f"load {os.getloadavg()[0]:.2f}"
    )


def measure_downloads(target: Target, size: int, rounds: int, label: str, *headers: str) -> Row:
    row = Row(label, size)
    for _ in range(rounds):
        d = download(target, size, *headers)
        row.runs.append(d)
        print(
            f"download {label}, {fmt_mb(size)}: {d.status}, {fmt_mb(d.received)}, "
            f"{d.mb_s:,.0f} MB/s, RSS +{fmt_mb(d.growth)} {d.note}",
            flush=True,
        )
        if not d.ok:
            break  # a refusal is the same every time
    return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-rounds", type=int, default=3, help="interleaved wrk rounds")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the big download")
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--fit-mb", type=int, default=100, help="a download jsp can buffer")
    parser.add_argument("--jsp-venv", type=Path, default=JSP_VENV)
    parser.add_argument("--setup-jsp", action="store_true", help="create --jsp-venv and exit")
    parser.add_argument("--no-jsp", action="store_true", help="skip jupyter-server-proxy")
    parser.add_argument("--no-ours", action="store_true", help="skip our proxy")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the jupyter servers on CPU 0, everything else (wrk, the backend, nginx) on CPU 1: "
        "the server alone is the bottleneck, so ours / ceiling is its own cost per request",
    )
    return parser.parse_args()


def pin_servers(targets: list[Target]) -> None:
    """``--pin``: each jupyter server's threads on CPU 0; this script (so wrk
    and curl), the backends (the job included) and nginx on CPU 1."""
    os.sched_setaffinity(0, {1})
    servers = {t.pid for t in targets if t.name in ("ours", "jupyter-server-proxy")}
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if process.pid in servers:
            cpus = {0}
        elif str(UPSTREAM) in command or "nginx" in command:
            cpus = {1}
        else:
            continue
        with contextlib.suppress(psutil.Error):
            for thread in process.threads():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(thread.id, cpus)


def main() -> int:
    args = parse_args()
    if args.setup_jsp:
        setup_jsp(args.jsp_venv)
        print(jsp_versions(args.jsp_venv))
        return 0
    if shutil.which("wrk") is None or shutil.which("curl") is None:
        print("wrk and curl are needed: apt-get install wrk curl", file=sys.stderr)
        return 2
    jsp = None if args.no_jsp else jsp_versions(args.jsp_venv)
    if not args.no_jsp and (jsp is None or "jupyter-server-proxy 4.6" not in jsp):
        print(
            f"jupyter-server-proxy 4.6 is not in {args.jsp_venv} ({jsp}); create it with\n"
            "  .venv/bin/python benchmarks/bench_proxy.py --setup-jsp\nor pass --no-jsp",
            file=sys.stderr,
        )
        return 2
    print(machine_line(jsp))

    small: dict[str, list[Wrk]] = {}
    rows: list[Row] = []
    missing: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        backend_port = free_port()
        backend = start_backend(backend_port, tmp / "backend.log")
        stack.callback(stop, backend)
        targets = [Target("direct", f"http://127.0.0.1:{backend_port}", backend.pid)]
        if not args.no_jsp:
            jsp_port, jsp_log = free_port(), tmp / "jsp" / "server.log"
            process = start_jsp(args.jsp_venv, jsp_port, tmp / "jsp")
            stack.callback(stop, process)
            base = f"http://127.0.0.1:{jsp_port}/proxy/{backend_port}"
            status, body = probe(f"{base}/small")
            assert status == 200, (status, body, jsp_log.read_text())
            targets.append(Target("jupyter-server-proxy", base, process.pid, jsp_log))
        if not args.no_ours:
            target, why = start_ours(stack, tmp, free_port())
            if target is None:
                missing["ours"] = why
                print(f"ours: not available yet ({why})")
            else:
                targets += [target, framework_ceiling(target)]
                fronted, why = start_nginx(stack, tmp, target)
                if fronted is None:
                    missing[NGINX_ROW] = why
                else:
                    targets.append(fronted)

        if args.pin:
            pin_servers(targets)
        for target in targets:  # warm-up: connections, lazy imports, first-request paths
            wrk(f"{target.base}{target.small}", args.threads, args.connections, 2, latency=False)
        for _ in range(args.wrk_rounds):
            for target in targets:
                url = f"{target.base}{target.small}"
                run = wrk(url, args.threads, args.connections, args.duration)
                small.setdefault(target.name, []).append(run)
                print(
                    f"wrk {target.name}: {run.rps:,.0f} req/s, p50 {run.p50_ms:.2f} ms, "
                    f"p99 {run.p99_ms:.2f} ms, errors {run.errors}",
                    flush=True,
                )

        for target in (t for t in targets if t.proxies):
            rows.append(measure_downloads(target, args.big_mb * MB, args.rounds, target.name))
            rows.append(measure_downloads(target, args.fit_mb * MB, 1, target.name))
            if target.name == "jupyter-server-proxy":
                # its only streaming mode, chosen by this exact Accept header
                label, sse = f"{target.name}, `Accept: text/event-stream`", f"Accept: {SSE}"
                for size in (args.big_mb * MB, args.fit_mb * MB):
                    rows.append(measure_downloads(target, size, 1, label, sse))

    report(small, rows, args, missing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
