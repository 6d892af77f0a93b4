"""One Pod per job, as a plain dict: :func:`pod_manifest` (job + config in, manifest out). Pure.

No Kubernetes client models: the backend posts the dict as is, and tests and
``kubernetes-validate`` read it directly. Every rule lives in a small function
here or in :mod:`.conventions`, :mod:`.metadata`, :mod:`.quantities`.

**Resources.** Requests equal limits for CPU and memory (Guaranteed QoS: what
a preset promises is what the job gets, and exceeding the memory ends it as
``OOMKilled``, as on the local backend). GPUs go in limits and requests alike,
as whole units of the conventions' resource (``nvidia.com/gpu``).

**Placement.** A GPU preset tolerates the GPU taint and, with a ``gpu_model``,
selects nodes by the conventions' GPU model label. A preemptible preset
tolerates the spot taint and *requires* spot nodes (node affinity ``In``); an
on-demand one is kept off them (``NotIn``) unless the conventions say
otherwise. The preset's own node selector and tolerations come last, and its
priority class wins over the configured defaults.

**Life span.** Two clocks, one rule: a job past its life span ends
``cancelled/LifeSpanEnded``.

- The service's clock is the authority. ``JobService`` compares each running
  job's running time with its (bumped) life span and kills it with
  ``LifeSpanEnded``; ``bump-life-span`` only moves this clock, so it works on
  a running pod without touching it.
- The pod's ``activeDeadlineSeconds`` is the cluster-side backstop for while no
  server watches: life span + ``life_span_margin`` (:func:`active_deadline`).
  Kubernetes only lets a running pod's deadline be shortened, never extended
  or removed, so it is set once, generously: the margin covers image pulls
  (the deadline counts from the pod's start, the life span from running) and
  bumps adding up to the margin. A pod the kubelet ends for its deadline
  (``reason: DeadlineExceeded``, :data:`DEADLINE_EXCEEDED`) is recorded as
  ``cancelled/LifeSpanEnded`` too. A life span of 0 (no limit) sets no deadline.

**Volumes.** One shared PersistentVolumeClaim holds every owner's storage:
``storage:PATH`` mounts ``<sub_path_root>/<owner>/PATH`` of it (``subPath``),
read-only for ``:ro`` — the same layout as the local backend's
``<storage_root>/<owner>/PATH``. ``/dev/shm`` is a memory-backed ``emptyDir``
(PyTorch data loaders need more than the runtime's 64 MB), counted against
the job's memory.

**Environment.** The rule both backends share (:func:`..environment.job_environment`):
the spec's variables, then ``NEURO_JOB_*`` (and the HTTP URL and prefix),
with nothing inherited from the server — so no credentials. The service
account token is not mounted either: a job gets no Kubernetes API access.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ...jobs.addresses import JobAddresses
from ...jobs.errors import InvalidSpec
from ...jobs.model import Job, Preset, RestartPolicy, Volume
from ...jobs.words import split_words
from ..environment import job_environment
from .conventions import CONVENTIONS, NodeConventions
from .metadata import pod_annotations, pod_labels, pod_name
from .names import is_valid_label_value
from .quantities import format_cpu, format_memory

__all__ = [
    "CONTAINER",
    "DEADLINE_EXCEEDED",
    "SHM_PATH",
    "PodConfig",
    "StorageClaim",
    "active_deadline",
    "pod_manifest",
    "storage_sub_path",
]

CONTAINER = "job"
"""The name of the job's one container (logs, exec and metrics name it)."""
DEADLINE_EXCEEDED = "DeadlineExceeded"
"""``status.reason`` of a pod the kubelet ended at ``activeDeadlineSeconds``."""
SHM_PATH = "/dev/shm"
STORAGE_VOLUME = "storage"
SHM_VOLUME = "dshm"

_RESTART = {
    RestartPolicy.NEVER: "Never",
    RestartPolicy.ON_FAILURE: "OnFailure",
    RestartPolicy.ALWAYS: "Always",
}


@dataclass(frozen=True)
class StorageClaim:
    """The PersistentVolumeClaim holding users' storage.

    ``sub_path_root`` is the folder inside the claim that holds one folder per
    owner (``""``: the claim's root).
    """

    claim_name: str = "neuro-storage"
    sub_path_root: str = ""


@dataclass(frozen=True)
class PodConfig:
    """The cluster's side of a pod: everything :func:`pod_manifest` takes besides the job.

    Made from ``c.KubernetesBackend.*`` by ``KubernetesConfig.pod_config()``.
    """

    conventions: NodeConventions = field(default_factory=lambda: CONVENTIONS["generic"])
    storage: StorageClaim = StorageClaim()
    image_pull_policy: str = ""
    """``Always``, ``IfNotPresent``, ``Never``; ``""``: Kubernetes' default for the tag."""
    service_account: str = ""
    """The job pods' ServiceAccount; ``""``: the namespace's ``default``."""
    priority_class: str = ""
    """PriorityClass of on-demand presets that name none; ``""``: the cluster's default."""
    preemptible_priority_class: str = "neuro-jupyter-preemptible"
    """PriorityClass of preemptible presets that name none (``deploy/priorityclasses.yaml``)."""
    life_span_margin: int = 86400
    """Seconds the pod's deadline allows beyond the life span (see the module docstring)."""
    kill_grace_period: int = 10
    """Seconds between SIGTERM and SIGKILL (``terminationGracePeriodSeconds``)."""


def active_deadline(life_span: int, margin: int) -> int | None:
    """The pod's ``activeDeadlineSeconds``: ``life_span + margin``; None for no limit (0)."""
    return life_span + max(margin, 0) if life_span > 0 else None


def storage_sub_path(storage: StorageClaim, owner: str, volume: Volume) -> str:
    """Where ``volume`` lies inside the claim: ``<root>/<owner>/<path>``.

    Only the owner's own storage is mounted (``storage:/OWNER/PATH`` with the
    job owner's name is the same as ``storage:PATH``).

    Raises:
        InvalidSpec: ``volumes``: another owner's storage, ``..``, or an owner
            name that cannot be a folder.
    """
    shown = f"storage:{volume.source}"
    parts = [p for p in volume.source.split("/") if p not in ("", ".")]
    if volume.source.startswith("/"):
        if not parts or parts[0] != owner:
            other = parts[0] if parts else "/"
            raise InvalidSpec(
                "volumes",
                f"{shown} is in another user's storage ({other}); "
                "jobs mount only their owner's storage",
            )
        parts = parts[1:]
    if ".." in parts:
        raise InvalidSpec("volumes", f"{shown} must not contain '..'")
    if not owner or "/" in owner or owner in (".", ".."):
        raise InvalidSpec("volumes", f"user name {owner!r} cannot name a storage folder")
    root = [p for p in storage.sub_path_root.split("/") if p not in ("", ".")]
    return posixpath.join(*root, owner, *parts)


def _volumes(job: Job, config: PodConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod's volumes and the container's mounts."""
    shm = {"medium": "Memory", "sizeLimit": format_memory(job.preset.memory)}
    volumes: list[dict[str, Any]] = [{"name": SHM_VOLUME, "emptyDir": shm}]
    mounts: list[dict[str, Any]] = [{"name": SHM_VOLUME, "mountPath": SHM_PATH}]
    for volume in job.spec.volumes:
        if volume.mount == SHM_PATH:
            raise InvalidSpec(
                "volumes", f"{SHM_PATH} is the job's shared memory: mount storage elsewhere"
            )
        mounts.append(
            {
                "name": STORAGE_VOLUME,
                "mountPath": volume.mount,
                "subPath": storage_sub_path(config.storage, job.owner, volume),
                "readOnly": volume.read_only,
            }
        )
    if job.spec.volumes:
        claim = {"claimName": config.storage.claim_name}
        volumes.append({"name": STORAGE_VOLUME, "persistentVolumeClaim": claim})
    return volumes, mounts


def _resources(preset: Preset, conventions: NodeConventions) -> dict[str, Any]:
    """Requests and limits: equal, so the job gets exactly its preset."""
    sized = {"cpu": format_cpu(preset.cpu), "memory": format_memory(preset.memory)}
    if preset.gpu > 0:
        sized[conventions.gpu_resource] = str(preset.gpu)
    return {"requests": dict(sized), "limits": dict(sized)}


def _node_selector(preset: Preset, conventions: NodeConventions) -> dict[str, str]:
    selector: dict[str, str] = {}
    if preset.gpu > 0 and preset.gpu_model:
        if not is_valid_label_value(preset.gpu_model):
            raise InvalidSpec(
                "preset",
                f"preset {preset.name}: GPU model {preset.gpu_model!r} cannot select nodes "
                f"by the label {conventions.gpu_model_label} (not a valid label value)",
            )
        selector[conventions.gpu_model_label] = preset.gpu_model
    selector.update(preset.node_selector)
    return selector


def _tolerations(preset: Preset, conventions: NodeConventions) -> list[dict[str, Any]]:
    tolerations: list[dict[str, Any]] = []
    if preset.gpu > 0 and conventions.gpu_taint is not None:
        tolerations.append(conventions.gpu_taint.toleration())
    if preset.preemptible and conventions.spot_taint is not None:
        tolerations.append(conventions.spot_taint.toleration())
    for toleration in preset.tolerations:
        if dict(toleration) not in tolerations:
            tolerations.append(dict(toleration))
    return tolerations


def _affinity(preset: Preset, conventions: NodeConventions) -> dict[str, Any] | None:
    """Spot nodes required for preemptible presets; refused for the others."""
    if preset.preemptible:
        operator = "In"
    elif conventions.keep_off_spot:
        operator = "NotIn"
    else:
        return None
    expression = {
        "key": conventions.spot_label,
        "operator": operator,
        "values": [conventions.spot_value],
    }
    terms = [{"matchExpressions": [expression]}]
    required = {"nodeSelectorTerms": terms}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}


def _priority_class(preset: Preset, config: PodConfig) -> str:
    if preset.priority_class:
        return preset.priority_class
    return config.preemptible_priority_class if preset.preemptible else config.priority_class


def _environment(job: Job, addresses: JobAddresses | None) -> list[dict[str, str]]:
    # Nothing from the server's own environment reaches a pod (base={}).
    env = job_environment(job, (), {}, addresses)
    # The device plugin gives the container its GPUs; an empty
    # CUDA_VISIBLE_DEVICES (the local rule for a job without GPUs) would hide them.
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return [{"name": name, "value": value} for name, value in env.items()]


def _container(job: Job, config: PodConfig, addresses: JobAddresses | None) -> dict[str, Any]:
    spec = job.spec
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "env": _environment(job, addresses),
        "resources": _resources(job.preset, config.conventions),
        # The end of the log becomes the termination message of a failed job.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if spec.command:
        # As Neu.ro: the command replaces the image's CMD; its ENTRYPOINT stays.
        try:
            container["args"] = split_words(spec.command)
        except ValueError as e:
            raise InvalidSpec("command", f"the command cannot be split into words: {e}") from None
    if spec.workdir:
        container["workingDir"] = spec.workdir
    if config.image_pull_policy:
        container["imagePullPolicy"] = config.image_pull_policy
    if spec.http is not None:
        container["ports"] = [{"name": "http", "containerPort": spec.http.port, "protocol": "TCP"}]
    return container


@dataclass(frozen=True)
class Placement:
    """What a preset asks of the cluster: resources and where the pod may run.

    One rule for job pods (:func:`pod_manifest`) and notebook servers placed
    on presets by the JupyterHub spawner (``neuro_jupyter.hub.kubespawner``).
    """

    resources: dict[str, Any]
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    affinity: dict[str, Any] | None
    priority_class: str

    def pod_spec(self) -> dict[str, Any]:
        """The PodSpec fields of the placement (resources are the container's)."""
        spec: dict[str, Any] = {}
        if self.priority_class:
            spec["priorityClassName"] = self.priority_class
        if self.node_selector:
            spec["nodeSelector"] = self.node_selector
        if self.tolerations:
            spec["tolerations"] = self.tolerations
        if self.affinity is not None:
            spec["affinity"] = self.affinity
        return spec


def preset_placement(preset: Preset, config: PodConfig) -> Placement:
    """The preset's resources and placement under the cluster's conventions.

    Raises:
        InvalidSpec: the preset's GPU model cannot be a label value.
    """
    conventions = config.conventions
    return Placement(
        resources=_resources(preset, conventions),
        node_selector=_node_selector(preset, conventions),
        tolerations=_tolerations(preset, conventions),
        affinity=_affinity(preset, conventions),
        priority_class=_priority_class(preset, config),
    )


def pod_manifest(
    job: Job, config: PodConfig, addresses: JobAddresses | None = None
) -> dict[str, Any]:
    """The job's Pod (see the module docstring for every rule).

    ``addresses`` give a job with an HTTP port its public URL and prefix
    (``NEURO_JOB_HTTP_URL``, ``NEURO_JOB_HTTP_PREFIX``).

    Raises:
        InvalidSpec: what this cluster cannot run: another owner's storage, a
            volume on ``/dev/shm``, a command that cannot be split, a preset's
            GPU model that cannot be a label value.
    """
    preset = job.preset
    volumes, mounts = _volumes(job, config)
    container = _container(job, config, addresses)
    container["volumeMounts"] = mounts
    spec: dict[str, Any] = {
        "restartPolicy": _RESTART[job.spec.restart],
        "containers": [container],
        "volumes": volumes,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": config.kill_grace_period,
    }
    deadline = active_deadline(job.spec.life_span, config.life_span_margin)
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    if config.service_account:
        spec["serviceAccountName"] = config.service_account
    spec.update(preset_placement(preset, config).pod_spec())
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(job.id),
            "labels": pod_labels(job),
            "annotations": pod_annotations(job),
        },
        "spec": spec,
    }
