"""The kubernetes backend's traits, and the frozen :class:`~.pods.PodConfig` they make.

:class:`KubernetesConfig` is the base of ``KubernetesBackend``, so each trait
is set as ``c.KubernetesBackend.<name>`` (``c.KubernetesConfig.<name>`` works
too). Values are checked when set; :meth:`KubernetesConfig.pod_config`
freezes them for the pure Pod builder, so one job's pod never sees another's
choices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from traitlets import Dict, Enum, Float, Int, TraitError, Unicode, Union, validate
from traitlets.config import LoggingConfigurable

from .conventions import NodeConventions, parse_conventions
from .names import is_dns_label, is_dns_subdomain
from .pods import PodConfig, StorageClaim

__all__ = ["SERVICE_ACCOUNT_NAMESPACE", "KubernetesConfig", "resolve_namespace"]

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
"""Where a pod finds its own namespace."""


def resolve_namespace(
    configured: str,
    context: Mapping[str, Any] | None = None,
    namespace_file: str = SERVICE_ACCOUNT_NAMESPACE,
) -> str:
    """The namespace jobs run in, as kubectl would pick it.

    ``configured`` wins; connected through a kubeconfig, its ``context`` (an
    entry of the kubeconfig's ``contexts``) names it; inside a pod, the
    service account's ``namespace_file``; else ``default``.
    """
    if configured:
        return configured
    if context is not None:
        return str((context.get("context") or {}).get("namespace") or "default")
    try:
        with open(namespace_file, encoding="utf-8") as file:
            return file.read().strip() or "default"
    except OSError:
        return "default"


class KubernetesConfig(LoggingConfigurable):
    """Where and how job pods are made (traits of ``c.KubernetesBackend``)."""

    namespace = Unicode(
        "",
        help="""Namespace of the job pods. Empty (the default): the connection's,
        as kubectl picks it: the kubeconfig context's namespace, or inside a pod
        its service account's, else "default".""",
    ).tag(config=True)

    storage_claim = Unicode(
        "neuro-storage",
        help="""PersistentVolumeClaim (ReadWriteMany) in the namespace holding all
        users' storage (deploy/storage.yaml makes one). storage:PATH of user U
        mounts <storage_sub_path>/U/PATH of it.""",
    ).tag(config=True)

    storage_sub_path = Unicode(
        "",
        help="""Folder inside the storage claim that holds one folder per user.
        Empty (the default): the claim's root.""",
    ).tag(config=True)

    node_conventions = Union(
        [Unicode(), Dict()],
        default_value="generic",
        help="""How the cluster labels and taints spot and GPU nodes: "generic"
        (the default: neuro-jupyter/preemptible=true on spot nodes,
        nvidia.com/gpu.product for GPU models), "gke", "aks", "eks", "karpenter",
        or a dict of fields over a base, e.g. {"base": "eks", "spot_taint":
        {"key": "spot", "value": "true", "effect": "NoSchedule"}}. Fields:
        spot_label, spot_value, spot_taint, gpu_model_label, gpu_taint (null: none),
        gpu_resource, keep_off_spot (false: on-demand jobs may land on spot nodes).""",
    ).tag(config=True)

    image_pull_policy = Enum(
        ["", "Always", "IfNotPresent", "Never"],
        default_value="",
        help="""imagePullPolicy of the job container. Empty (the default):
        Kubernetes' own (Always for :latest and untagged images, else IfNotPresent).""",
    ).tag(config=True)

    service_account = Unicode(
        "",
        help="""ServiceAccount the job pods run as. Empty (the default): the
        namespace's default. Its API token is never mounted into jobs.""",
    ).tag(config=True)

    priority_class = Unicode(
        "",
        help="""PriorityClass of jobs whose on-demand preset names none. Empty
        (the default): the cluster's default priority.""",
    ).tag(config=True)

    preemptible_priority_class = Unicode(
        "neuro-jupyter-preemptible",
        help="""PriorityClass of jobs whose preemptible preset names none
        (deploy/priorityclasses.yaml makes this one: below the default, never
        preempting others). Empty: the cluster's default priority.""",
    ).tag(config=True)

    schedule_timeout = Float(
        600.0,
        help="""Seconds a job may wait for a node (pending/Scheduling) before it
        fails. 0 = wait forever (e.g. for a slow autoscaler).""",
    ).tag(config=True)

    life_span_margin = Int(
        86400,
        min=0,
        help="""Seconds the pod's activeDeadlineSeconds allows beyond the job's
        life span. The server ends jobs at their life span (bumps included);
        this deadline is the cluster's backstop while no server watches, and
        Kubernetes cannot extend it, so it must cover image pulls and every
        bump-life-span of the job. 0: no bumps beyond the first life span.""",
    ).tag(config=True)

    kill_grace_period = Int(
        10,
        min=0,
        help="Seconds between SIGTERM and SIGKILL on a kill (terminationGracePeriodSeconds).",
    ).tag(config=True)

    dcgm_exporter_url = Unicode(
        "",
        help="""URL of an NVIDIA dcgm-exporter's metrics, e.g.
        "http://dcgm-exporter.gpu-operator:9400/metrics"; "{host_ip}" in it is
        replaced by the IP of the job's node (for an exporter DaemonSet on
        hostPort 9400: "http://{host_ip}:9400/metrics", which reaches the
        exporter of the job's own node, where a Service would pick any node's).
        GPU jobs' telemetry then carries GPU utilisation and memory, scraped
        once per sample. The exporter must run with DCGM_EXPORTER_KUBERNETES=true,
        so that its series carry pod and namespace labels. Empty (the default):
        no GPU telemetry.""",
    ).tag(config=True)

    @validate("node_conventions")
    def _validate_node_conventions(self, proposal: dict[str, Any]) -> Any:
        try:
            parse_conventions(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"c.KubernetesBackend.node_conventions: {exc}") from None
        return proposal["value"]

    @validate("namespace")
    def _validate_namespace(self, proposal: dict[str, Any]) -> str:
        return _checked_name(proposal, is_dns_label, "a DNS-1123 label")

    @validate("storage_claim", "service_account", "priority_class", "preemptible_priority_class")
    def _validate_object_name(self, proposal: dict[str, Any]) -> str:
        return _checked_name(proposal, is_dns_subdomain, "a DNS-1123 subdomain")

    @validate("storage_sub_path")
    def _validate_storage_sub_path(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if value.startswith("/") or ".." in value.split("/"):
            raise TraitError(
                f"c.KubernetesBackend.storage_sub_path {value!r}: "
                "must be relative to the claim, without '..'"
            )
        return value

    @validate("dcgm_exporter_url")
    def _validate_dcgm_exporter_url(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if value and not value.startswith(("http://", "https://")):
            raise TraitError(f"c.KubernetesBackend.dcgm_exporter_url {value!r}: not an http(s) URL")
        return value

    @property
    def conventions(self) -> NodeConventions:
        """The node conventions in force."""
        return parse_conventions(self.node_conventions)

    def pod_config(self) -> PodConfig:
        """The traits, frozen for :func:`~.pods.pod_manifest`."""
        return PodConfig(
            conventions=self.conventions,
            storage=StorageClaim(self.storage_claim, self.storage_sub_path),
            image_pull_policy=self.image_pull_policy,
            service_account=self.service_account,
            priority_class=self.priority_class,
            preemptible_priority_class=self.preemptible_priority_class,
            life_span_margin=self.life_span_margin,
            kill_grace_period=self.kill_grace_period,
        )


def _checked_name(proposal: dict[str, Any], valid: Callable[[str], bool], what: str) -> str:
    value = str(proposal["value"])
    if value and not valid(value):
        name = proposal["trait"].name
        raise TraitError(
            f"c.KubernetesBackend.{name} {value!r} is not {what} "
            "(lowercase letters, digits and '-')"
        )
    return value
