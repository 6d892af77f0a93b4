"""A job's environment, the same rule on every backend.

What the command sees: the base environment minus credentials (a job never
gets the server's, the hub's or the API's tokens), the spec's ``env``, then
what the job is (``NEURO_JOB_*``, its published address, its GPUs), which the
spec cannot override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..jobs.addresses import JobAddresses
from ..jobs.model import Job

__all__ = ["HTTP_ENV", "is_credential", "job_environment", "without_credentials"]

HTTP_ENV = ("NEURO_JOB_HTTP_URL", "NEURO_JOB_HTTP_PREFIX")
"""Where a job with an HTTP port is published; set by :class:`JobAddresses` only."""

_CREDENTIAL_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY")


def is_credential(name: str) -> bool:
    """Whether an environment variable may hold a credential a job must never get.

    Covers ``JPY_API_TOKEN``, ``JUPYTERHUB_API_TOKEN``, ``NEURO_API_TOKEN``,
    ``JUPYTER_TOKEN`` and anything else naming a token, secret or password.
    """
    upper = name.upper()
    return any(word in upper for word in _CREDENTIAL_WORDS)


def without_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus every variable :func:`is_credential` flags."""
    return {k: v for k, v in env.items() if not is_credential(k)}


def job_environment(
    job: Job,
    gpus: Sequence[int],
    base: Mapping[str, str],
    addresses: JobAddresses | None = None,
) -> dict[str, str]:
    """The command's environment: ``base`` minus credentials, the spec's, the job's.

    ``NEURO_JOB_*`` (with the public URL and prefix ``addresses`` give a job
    with an HTTP port) and ``CUDA_VISIBLE_DEVICES`` come last: the spec cannot
    claim another job's identity, address or GPUs.
    """
    env = without_credentials(base)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(job.spec.env)
    env.update(
        NEURO_JOB_ID=job.id,
        NEURO_JOB_NAME=job.name or "",
        NEURO_JOB_OWNER=job.owner,
        NEURO_JOB_PRESET=job.preset.name,
        CUDA_VISIBLE_DEVICES=",".join(str(i) for i in gpus),
    )
    for name in HTTP_ENV:  # a job without an HTTP port has none
        env.pop(name, None)
    env.update((addresses or JobAddresses()).environment(job))
    return env
