"""``secret_env``: environment for the job's process only, recorded nowhere.

What a notebook server run as a job needs (its hub token) must reach that one
process and no record: not the registry, the API, the job's folder, ``exec``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.server.test_api import job_when

pytestmark = pytest.mark.usefixtures("jp_serverapp")

SECRET = "s3cret-hub-token-0123456789"


async def test_the_secret_reaches_the_process_and_no_record(api: Api, neuro_dir: Path) -> None:
    spec = {
        "image": "ubuntu",
        "name": "keeper",
        "command": "sh -c 'echo token=$HUB_TOKEN; sleep 60'",
        "secret_env": {"HUB_TOKEN": SECRET},
    }
    status, job = await api("POST", "jobs", spec)
    assert status == 201, job
    assert SECRET not in json.dumps(job) and "secret_env" not in job
    await job_when(api, "keeper", lambda j: j["status"] == "running")
    _, log = await api("GET", "jobs/keeper/logs", raw=True)
    for _ in range(100):
        if b"token=" in log:
            break
        _, log = await api("GET", "jobs/keeper/logs", raw=True)
    assert log.startswith(f"token={SECRET}\n".encode())  # the process has it

    for path, params in [("jobs/keeper", None), ("jobs", {"all": "true"})]:
        _, answer = await api("GET", path, params=params)
        assert SECRET not in json.dumps(answer)
    # Not in the registry, nor any file of the job's folder but its output.
    stored = list(neuro_dir.glob("*.sqlite*"))  # the database, its WAL and shared memory
    assert stored
    for file in stored:
        assert SECRET.encode() not in file.read_bytes(), file
    for database in neuro_dir.glob("*.sqlite"):
        with sqlite3.connect(database) as db:
            assert SECRET not in "\n".join(db.iterdump())
    folder = neuro_dir / "jobs" / job["id"]
    for file in folder.rglob("*"):
        if file.is_file() and not file.name.startswith("output"):
            assert SECRET.encode() not in file.read_bytes(), file
    # A rerun starts without it: it was never recorded.
    await api("DELETE", "jobs/keeper")
    await job_when(api, "keeper", lambda j: j["status"] == "cancelled")


async def test_a_bad_secret_env_is_refused_naming_it(api: Api) -> None:
    spec = {"image": "ubuntu", "command": "true", "secret_env": {"A=B": "x"}}
    status, body = await api("POST", "jobs", spec)
    assert (status, body["field"]) == (400, "secret_env")
    status, body = await api("POST", "jobs", {**spec, "secret_env": ["x"]})
    assert (status, body["field"]) == (400, "secret_env")
