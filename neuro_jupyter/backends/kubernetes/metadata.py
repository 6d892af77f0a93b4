"""Pod names, labels and annotations: how pods and job records find each other. Pure.

- The pod's name is the job id (``job-`` + UUID4 is already a DNS-1123
  label), so ``kubectl get pod job-…`` finds the job ``ps`` shows.
- Labels select: every pod carries ``app.kubernetes.io/managed-by=neuro-jupyter``
  (the backend's one watch uses :data:`MANAGED_SELECTOR`), the job id, the
  owner and the name. Label values are limited (63 characters of
  ``[-A-Za-z0-9_.]``), so :func:`label_value` turns an owner such as
  ``alice@example.com`` into a safe value with a hash of the original.
- Annotations hold the exact values a restarted server needs to match a pod to
  its record (job id, owner, name, cluster, preset, HTTP port, life span).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ...jobs.model import Job
from .names import is_dns_label, is_valid_label_value

__all__ = [
    "ANNOTATION",
    "LABEL",
    "MANAGED_BY",
    "MANAGED_SELECTOR",
    "job_id_of",
    "label_value",
    "owner_selector",
    "pod_annotations",
    "pod_labels",
    "pod_name",
]

_PREFIX = "neuro-jupyter/"
MANAGED_BY = ("app.kubernetes.io/managed-by", "neuro-jupyter")
"""The label every job pod carries."""
MANAGED_SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]}"
"""The label selector matching every job pod (of every owner and cluster)."""

LABEL = {"job_id": f"{_PREFIX}job-id", "owner": f"{_PREFIX}owner", "name": f"{_PREFIX}name"}
"""Label keys (values label-safe: see :func:`label_value`)."""

ANNOTATION = {
    "job_id": f"{_PREFIX}job-id",
    "owner": f"{_PREFIX}owner",
    "name": f"{_PREFIX}name",
    "cluster": f"{_PREFIX}cluster",
    "preset": f"{_PREFIX}preset",
    "http_port": f"{_PREFIX}http-port",
    "life_span": f"{_PREFIX}life-span",
}
"""Annotation keys (values exact)."""

_UNSAFE = re.compile(r"[^-A-Za-z0-9_.]")
_HASH_LENGTH = 8
_LABEL_MAX = 63


def pod_name(job_id: str) -> str:
    """The name of the job's pod: the job id itself.

    Raises:
        ValueError: the id is not a DNS-1123 label (no ``job-`` + UUID4 is).
    """
    if not is_dns_label(job_id):
        raise ValueError(f"job id {job_id!r} cannot name a pod (not a DNS-1123 label)")
    return job_id


def label_value(text: str) -> str:
    """``text`` as a label value: unchanged when valid, else made safe and unique.

    Unsafe characters become ``-``, the ends are trimmed to letters or digits,
    and ``-`` plus 8 hex digits of the text's SHA-256 are appended (within 63
    characters), so two different owners never share a value.
    """
    if is_valid_label_value(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]
    clean = _UNSAFE.sub("-", text)[: _LABEL_MAX - _HASH_LENGTH - 1]
    clean = clean.strip("-_.")
    return f"{clean}-{digest}" if clean else digest


def owner_selector(owner: str) -> str:
    """The label selector for ``owner``'s job pods."""
    return f"{MANAGED_SELECTOR},{LABEL['owner']}={label_value(owner)}"


def pod_labels(job: Job) -> dict[str, str]:
    """The pod's labels: managed-by, job id, owner and (for a named job) name."""
    out = {
        MANAGED_BY[0]: MANAGED_BY[1],
        LABEL["job_id"]: job.id,
        LABEL["owner"]: label_value(job.owner),
    }
    if job.name:
        out[LABEL["name"]] = label_value(job.name)
    return out


def pod_annotations(job: Job) -> dict[str, str]:
    """The pod's annotations: the record's identity, exactly."""
    out = {
        ANNOTATION["job_id"]: job.id,
        ANNOTATION["owner"]: job.owner,
        ANNOTATION["cluster"]: job.cluster,
        ANNOTATION["preset"]: job.preset.name,
        ANNOTATION["life_span"]: str(job.spec.life_span),
    }
    if job.name:
        out[ANNOTATION["name"]] = job.name
    if job.spec.http is not None:
        out[ANNOTATION["http_port"]] = str(job.spec.http.port)
    return out


def job_id_of(pod: Mapping[str, Any]) -> str | None:
    """The job id a pod (a manifest or an API object as a dict) runs; None if not ours."""
    metadata = pod.get("metadata") or {}
    pod_labels = metadata.get("labels") or {}
    if pod_labels.get(MANAGED_BY[0]) != MANAGED_BY[1]:
        return None
    job_id = (metadata.get("annotations") or {}).get(ANNOTATION["job_id"])
    return job_id if isinstance(job_id, str) else None
