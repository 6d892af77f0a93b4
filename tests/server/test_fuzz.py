"""schemathesis against a real server and the OpenAPI document as it serves it (issue 14).

Every operation, positive and negative data, with the checks a generated
client relies on: no 5xx, only documented statuses and content types,
answers that fit their schema, and schema-violating input refused. Jobs that
get created run ``true`` (``tests/resources/fuzz_hooks.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_server import TOKEN, RealServer

pytest.importorskip("schemathesis", reason="pip install -e .[test] installs schemathesis")

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
HOOKS = Path(__file__).parent.parent / "resources" / "fuzz_hooks.py"
EXAMPLES = int(os.environ.get("NEURO_FUZZ_EXAMPLES", "25"))
"""Examples per operation and mode; the issue's run used ~4,500 cases in all."""
SEED = os.environ.get("NEURO_FUZZ_SEED", "14")


@pytest.fixture
def a_server(tmp_path: Path) -> Iterator[RealServer]:
    """A server under a base_url, so ``servers`` must carry it to be usable."""
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(
        'c.NeuroJobs.presets = [{"name": "cpu-small", "cpu": 0.1, "memory": "64MB"},'
        ' {"name": "cpu-large", "cpu": 0.2, "memory": "128MB"}]\n'
        "c.NeuroJobs.max_page_size = 20\n"
    )
    server = RealServer(tmp_path, extra_args=[f"--config={config}"], base_url="/fuzz/")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_in_the_served_document(
    a_server: RealServer, tmp_path: Path
) -> None:
    # A finished job the generated refs reach (half the time), so operations
    # get past 404 (a live one would hold a followed log or top open).
    spec = {"image": "ubuntu", "command": "true", "name": "fuzz-target"}
    job = a_server.request("POST", "jobs", spec)
    a_server.wait_job(job["id"], lambda j: j["status"] == "succeeded")
    refs = [job["id"], job["name"], f"{job['name']}--{job['owner']}"]
    (tmp_path / "schemathesis.toml").write_text(
        f"[dictionaries.refs]\nvalues = {json.dumps(refs)}\n\n"
        '[parameters]\n"path.ref" = { dictionary = "refs", probability = 0.5 }\n'
    )
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": str(HOOKS.parent)}
    argv = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{a_server.api}openapi.json",
        "--header", f"Authorization: token {TOKEN}",
        "--checks", CHECKS, "--mode", "all", "--max-examples", str(EXAMPLES),
        "--phases", "examples,coverage,fuzzing", "--seed", SEED, "--workers", "1",
        "--request-timeout", "30", "--continue-on-failure", "--no-color",
        # exec is a WebSocket: its refusals (400 without the upgrade) are
        # checked, a successful upgrade cannot be; most generated refs are
        # refused, which the health checks would call a schema mismatch.
        "--suppress-health-check", "all",
    ]  # fmt: skip
    run = subprocess.run(
        argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=580, check=False
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20000:]
    print(report.rpartition("Test cases:")[2].strip().splitlines()[0])  # "N generated, ..."
