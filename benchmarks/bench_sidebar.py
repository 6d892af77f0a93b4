"""Issue 12: how soon the Lab sees a job change, a 5,000-job sidebar, a 200 MB log's end.

A real ``jupyter lab`` with the extension (``tests/ui/lab.py``) and Debian's
headless Chromium (Playwright), as the UI tests drive them.

1. Status change → visible in the sidebar: a job runs ``sleep 0.5``; the time
   from its ``finished_at`` (the server's record) to the moment a
   MutationObserver in the page sees its row say ``succeeded`` (same machine,
   same clock). ``--changes`` jobs with polling (pushes stopped: the list
   polls every 3 s, the default) and as many with pushes (``GET events``),
   in the same run, alternating in batches.
2. 5,000 jobs in the registry (written straight into the store, as
   ``bench_ps.py`` does): typing a search in the sidebar's filter → the list
   updated (DOM observed), p50 of ``--filters`` searches.
3. A 200 MB log: opening the job's page → its last line shown in the Log tab.

    .venv/bin/python benchmarks/bench_sidebar.py [--changes 50] [--filters 20] [--log-mb 200]
        [--only filter --before DIR]

Set ``JUPYTER_PATH`` to a folder whose ``labextensions/neuro-jupyter`` is the
build to measure, if it is not the environment's own. ``--before DIR`` (a
folder holding ``labextensions/neuro-jupyter``: an earlier build) measures the
filter with that build too, in the same run, on the same registry: a lab with
the earlier build, then one with the build measured, alternating ``--rounds``
times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from tests.real_server import TOKEN
from tests.ui.lab import CHROMIUM_ARGS, LabServer, chromium_path

OBSERVE = """() => {
  window.__seen = {};
  const look = () => {
    for (const row of document.querySelectorAll('[data-test-id="neuro-job-row"]')) {
      const key = row.dataset.jobId + ' ' + row.dataset.status;
      if (!(key in window.__seen)) { window.__seen[key] = Date.now(); }
    }
  };
  new MutationObserver(look).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  look();
}"""

MODEL = """() => [...window.jupyterapp.shell.widgets('left')]
  .find(w => w.id === 'neuro-jupyter-sidebar').model"""


def open_lab(page: Any, lab: LabServer) -> None:
    page.goto(f"{lab.url}lab?token={TOKEN}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=30_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => 0)")
    if not page.locator('[data-test-id="neuro-sidebar"]').is_visible():
        page.locator('.jp-SideBar [data-id="neuro-jupyter-sidebar"]').click()
    page.wait_for_selector(
        '[data-test-id="neuro-job-list"][data-loading="false"]', state="attached"
    )


def set_push(page: Any, on: bool) -> None:
    action = "start" if on else "stop"
    page.evaluate(f"() => ({MODEL})().events.{action}()")
    want = "false" if on else "true"
    page.wait_for_function(f"() => String(({MODEL})().polling) === '{want}'", timeout=30_000)


def status_latencies(page: Any, lab: LabServer, batch: int) -> list[float]:
    """Latencies (ms) of ``batch`` jobs' ``succeeded`` reaching the sidebar."""
    ids = [
        lab.request("POST", "jobs", {"image": "ubuntu", "command": "sleep 0.5"})["id"]
        for _ in range(batch)
    ]
    jobs = [lab.wait_job(i, lambda j: j["status"] == "succeeded") for i in ids]
    keys = [f"{i} succeeded" for i in ids]
    page.wait_for_function("keys => keys.every(k => k in window.__seen)", arg=keys, timeout=60_000)
    seen = page.evaluate("keys => keys.map(k => window.__seen[k])", keys)
    out = []
    for job, at in zip(jobs, seen, strict=True):
        finished = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
        out.append(at - finished.timestamp() * 1000)
    return out


def bench_changes(page: Any, lab: LabServer, changes: int, batch: int = 5) -> None:
    page.evaluate(OBSERVE)
    results: dict[str, list[float]] = {"polling": [], "push": []}
    while min(len(v) for v in results.values()) < changes:
        for mode in ("polling", "push"):
            set_push(page, mode == "push")
            results[mode] += status_latencies(page, lab, batch)
    for mode, values in results.items():
        values = sorted(values[:changes])
        print(
            f"status change -> sidebar, {mode}: n={len(values)}"
            f" p50={statistics.median(values):.0f} ms"
            f" p90={values[int(len(values) * 0.9) - 1]:.0f} ms max={values[-1]:.0f} ms"
        )


def fill_registry(lab: LabServer, count: int) -> None:
    from neuro_jupyter.jobs.model import Job, JobSpec, JobStatus, Preset, StatusItem
    from neuro_jupyter.store import JobStore

    store = JobStore(JobStore.default_url(str(lab.data_dir)))
    preset = Preset("cpu-small", 1, 1 << 30)
    done = StatusItem(JobStatus.SUCCEEDED, "", exit_code=0)
    for i in range(count):
        spec = JobSpec(image="ubuntu", command=f"python train.py --seed {i}", name=f"bulk-{i}")
        job = Job.create("root", spec, preset)
        store.add(job)
        store.append_status(job.id, StatusItem(JobStatus.RUNNING, ""))
        store.append_status(job.id, done)
    store.close()


def filter_time(page: Any, search: Any, seed: int) -> float:
    """ms from typing ``--seed N`` to the list showing that one job."""
    search.fill("")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-test-id=\"neuro-job-row\"]').length > 1"
    )
    start: float = page.evaluate("() => performance.now()")
    search.fill(f"--seed {seed}")
    page.wait_for_function(
        "name => { const rows = document.querySelectorAll('[data-test-id=\"neuro-job-row\"]');"
        " return rows.length === 1 && rows[0].dataset.jobName === name; }",
        arg=f"bulk-{seed}",
        timeout=30_000,
    )
    end: float = page.evaluate("() => performance.now()")
    return end - start


def bench_filter(page: Any, filters: int, label: str = "") -> None:
    search = page.locator('[data-test-id="neuro-filter-search"]')
    # The sidebar loads the newest 200: bulk-4999..4800 are in it, older ones
    # come from the server's answer to the new filter.
    loaded = [filter_time(page, search, 4990 - i) for i in range(filters)]
    older = [filter_time(page, search, 1000 + i * 97) for i in range(filters)]
    rows = page.evaluate(
        "() => document.querySelectorAll('[data-test-id=\"neuro-job-row\"]').length"
    )
    for what, times in (("a job in the loaded 200", loaded), ("an older job", older)):
        print(
            f"{label}sidebar filter, 5,000 jobs, {what}: n={len(times)}"
            f" p50={statistics.median(times):.0f} ms max={max(times):.0f} ms"
            f" (typing to the updated list; rows rendered after the last: {rows})"
        )


def bench_log(page: Any, lab: LabServer, size_mb: int) -> None:
    line = "x" * 99
    script = (
        "import sys\n"
        f"line = ('{line}' + chr(10)).encode() * 10000\n"
        f"for _ in range({size_mb * 1000000 // 1000000}):\n"
        "    sys.stdout.buffer.write(line)\n"
        "sys.stdout.buffer.write(b'THE LAST LINE' + bytes([10]))\n"
    )
    job = lab.request(
        "POST",
        "jobs",
        {"image": "ubuntu", "name": "big-log", "command": [sys.executable, "-c", script]},
    )
    lab.wait_job(job["id"], lambda j: j["status"] == "succeeded", timeout=300)
    times = []
    for _ in range(5):
        page.evaluate(
            "() => window.jupyterapp.commands.execute('neuro:open-job', {id: 'x'}).catch(() => 0)"
        )
        for widget in page.evaluate(
            "() => [...window.jupyterapp.shell.widgets('main')].map(w => w.id)"
        ):
            page.evaluate(
                "id => [...window.jupyterapp.shell.widgets('main')].find(w => w.id === id).close()",
                widget,
            )
        start = page.evaluate(
            "id => { const t = performance.now();"
            " window.jupyterapp.commands.execute('neuro:open-job', {id}); return t; }",
            job["id"],
        )
        page.wait_for_function(
            "() => { const l = document.querySelector('.jp-MainAreaWidget:not(.lm-mod-hidden) "
            '[data-test-id="neuro-job-log"]\');'
            " return l && l.textContent.includes('THE LAST LINE'); }",
            timeout=60_000,
        )
        times.append(page.evaluate("() => performance.now()") - start)
    # Before: what the sidebar's job view did, the whole log, read in the page.
    whole = []
    for _ in range(3):
        whole.append(
            page.evaluate(
                "async url => { const t = performance.now();"
                " const r = await fetch(url); const text = await r.text();"
                " if (!text.includes('THE LAST LINE')) throw new Error('no end');"
                " return performance.now() - t; }",
                f"{lab.url}neuro/api/v1/jobs/{job['id']}/logs",
            )
        )
    print(
        f"{size_mb} MB log, the whole log fetched in the page (before): n={len(whole)}"
        f" p50={statistics.median(whole):.0f} ms max={max(whole):.0f} ms"
    )
    print(
        f"{size_mb} MB log -> job page shows its last line: n={len(times)}"
        f" p50={statistics.median(times):.0f} ms max={max(times):.0f} ms"
    )


def compare_filter(before: Path, filters: int, rounds: int) -> None:
    """The filter benchmark with the earlier build and this one, on one registry."""
    chromium = chromium_path()
    assert chromium, "apt-get install chromium"
    builds = {"before": str(before), "after": os.environ.get("JUPYTER_PATH", "")}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        filled = False
        for _ in range(rounds):
            for label, path in builds.items():
                lab = LabServer(Path(tmp))
                lab.env = {**(lab.env or {}), "JUPYTER_PATH": path}
                lab.start()
                try:
                    if not filled:
                        fill_registry(lab, 5000)
                        filled = True
                    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    page.set_default_timeout(60_000)
                    open_lab(page, lab)
                    bench_filter(page, filters, f"[{label}] ")
                    page.context.close()
                finally:
                    lab.stop()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--filters", type=int, default=20)
    parser.add_argument("--log-mb", type=int, default=200)
    parser.add_argument("--only", choices=["changes", "filter", "log"])
    parser.add_argument("--before", type=Path, help="JUPYTER_PATH of an earlier build")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.before is not None:
        compare_filter(args.before, args.filters, args.rounds)
        return
    chromium = chromium_path()
    assert chromium, "apt-get install chromium"
    with tempfile.TemporaryDirectory() as tmp:
        lab = LabServer(Path(tmp))
        lab.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.set_default_timeout(60_000)
                open_lab(page, lab)
                if args.only in (None, "changes"):
                    bench_changes(page, lab, args.changes)
                if args.only in (None, "log"):
                    bench_log(page, lab, args.log_mb)
                if args.only in (None, "filter"):
                    fill_registry(lab, 5000)
                    open_lab(page, lab)
                    page.locator('[data-test-id="neuro-refresh"]').click()
                    bench_filter(page, args.filters)
                browser.close()
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
