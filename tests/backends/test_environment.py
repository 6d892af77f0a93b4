"""``backends/environment.py``: what a job's command sees, on every backend."""

from __future__ import annotations

from neuro_jupyter.backends.environment import (
    HTTP_ENV,
    is_credential,
    job_environment,
    without_credentials,
)
from neuro_jupyter.jobs.model import HttpSpec

from .utils import make_job


def test_credentials_never_reach_a_job() -> None:
    base = {"PATH": "/bin", "JUPYTERHUB_API_TOKEN": "x", "NEURO_API_TOKEN": "x", "MY_SECRET": "x"}
    assert without_credentials(base) == {"PATH": "/bin"}
    assert is_credential("aws_secret_access_key") and not is_credential("HOME")
    env = job_environment(make_job("true"), (), base)
    assert env["PATH"] == "/bin" and not any(is_credential(name) for name in env)


def test_the_spec_sets_any_neuro_env_name_but_not_the_jobs_identity() -> None:
    job = make_job(
        "true", http=HttpSpec(8080),
        env={"A-B": "1", "A.B": "2", "NEURO_JOB_ID": "job-other", HTTP_ENV[0]: "elsewhere"},
    )  # fmt: skip
    env = job_environment(job, (1, 3), {})
    assert (env["A-B"], env["A.B"], env["NEURO_JOB_ID"]) == ("1", "2", job.id)
    assert env["CUDA_VISIBLE_DEVICES"] == "1,3"
    assert HTTP_ENV[0] not in env  # no published address given: none claimed
