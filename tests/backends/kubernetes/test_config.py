"""The kubernetes backend's traits and the frozen PodConfig they make (kubernetes/config.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError
from traitlets.config import Config

from neuro_jupyter.backends.kubernetes.config import KubernetesConfig, resolve_namespace
from neuro_jupyter.backends.kubernetes.conventions import CONVENTIONS, Taint
from neuro_jupyter.backends.kubernetes.pods import PodConfig, StorageClaim


class KubernetesBackend(KubernetesConfig):
    """Stands for the backend, whose traits these are (c.KubernetesBackend.*)."""


def test_defaults_make_the_default_pod_config() -> None:
    config = KubernetesBackend()
    assert config.namespace == ""
    assert config.schedule_timeout == 600.0
    assert config.pod_config() == PodConfig()
    assert config.pod_config().conventions is CONVENTIONS["generic"]
    assert config.pod_config().storage == StorageClaim("neuro-storage", "")


def test_configured_as_the_backend() -> None:
    c = Config()
    c.KubernetesBackend.namespace = "jobs"
    c.KubernetesBackend.storage_claim = "team-storage"
    c.KubernetesBackend.storage_sub_path = "users"
    c.KubernetesBackend.node_conventions = "karpenter"
    c.KubernetesBackend.image_pull_policy = "IfNotPresent"
    c.KubernetesBackend.service_account = "jobs"
    c.KubernetesBackend.priority_class = "on-demand"
    c.KubernetesBackend.preemptible_priority_class = "spot"
    c.KubernetesBackend.life_span_margin = 3600
    c.KubernetesBackend.kill_grace_period = 30
    c.KubernetesBackend.schedule_timeout = 0.0
    config = KubernetesBackend(config=c)
    assert config.namespace == "jobs"
    assert config.schedule_timeout == 0.0
    assert config.pod_config() == PodConfig(
        conventions=CONVENTIONS["karpenter"],
        storage=StorageClaim("team-storage", "users"),
        image_pull_policy="IfNotPresent",
        service_account="jobs",
        priority_class="on-demand",
        preemptible_priority_class="spot",
        life_span_margin=3600,
        kill_grace_period=30,
    )


def test_the_base_class_section_applies_too() -> None:
    c = Config()
    c.KubernetesConfig.node_conventions = "gke"
    assert KubernetesBackend(config=c).pod_config().conventions is CONVENTIONS["gke"]


def test_conventions_as_a_dict() -> None:
    config = KubernetesBackend(
        node_conventions={"base": "eks", "spot_taint": {"key": "spot", "value": "true"}}
    )
    assert config.conventions.spot_label == "eks.amazonaws.com/capacityType"
    assert config.pod_config().conventions.spot_taint == Taint("spot", "true")


def test_the_pod_config_is_frozen_apart_from_later_changes() -> None:
    config = KubernetesBackend(node_conventions="aks")
    before = config.pod_config()
    config.node_conventions = "gke"
    assert before.conventions is CONVENTIONS["aks"]
    assert config.pod_config().conventions is CONVENTIONS["gke"]


@pytest.mark.parametrize(
    ("trait", "value", "message"),
    [
        ("node_conventions", "openshift", "node_conventions: unknown node conventions"),
        ("node_conventions", {"spot_lable": "x"}, "unknown node conventions field"),
        ("namespace", "Jobs", "namespace 'Jobs' is not a DNS-1123 label"),
        ("namespace", "a.b", "not a DNS-1123 label"),
        ("storage_claim", "my_claim", "storage_claim 'my_claim' is not a DNS-1123 subdomain"),
        ("storage_claim", "team..storage", "not a DNS-1123 subdomain"),
        ("service_account", "-x", "service_account"),
        ("priority_class", "High", "priority_class"),
        ("preemptible_priority_class", "a b", "preemptible_priority_class"),
        ("storage_sub_path", "/abs", "storage_sub_path '/abs': must be relative"),
        ("storage_sub_path", "a/../b", "without '..'"),
        ("image_pull_policy", "Sometimes", "image_pull_policy"),
        ("life_span_margin", -1, "life_span_margin"),
        ("kill_grace_period", -1, "kill_grace_period"),
    ],
)
def test_bad_values_are_refused_when_set(trait: str, value: Any, message: str) -> None:
    with pytest.raises(TraitError, match=message):
        KubernetesBackend(**{trait: value})


def test_every_trait_is_documented() -> None:
    traits = KubernetesConfig.class_traits(config=True)
    assert set(traits) >= {
        "namespace",
        "storage_claim",
        "storage_sub_path",
        "node_conventions",
        "image_pull_policy",
        "service_account",
        "priority_class",
        "preemptible_priority_class",
        "schedule_timeout",
        "life_span_margin",
        "kill_grace_period",
    }
    for name, trait in traits.items():
        assert trait.help and len(trait.help) > 20, name


def test_namespace_as_kubectl_picks_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    in_pod = tmp_path / "namespace"
    in_pod.write_text("jobs-ns\n")
    assert resolve_namespace("mine", {"context": {"namespace": "ctx"}}, str(in_pod)) == "mine"
    assert resolve_namespace("", {"name": "c", "context": {"namespace": "ctx"}}, str(in_pod)) == (
        "ctx"
    )
    assert resolve_namespace("", {"name": "c", "context": {"cluster": "k"}}, str(in_pod)) == (
        "default"
    )
    assert resolve_namespace("", None, str(in_pod)) == "jobs-ns"
    assert resolve_namespace("", None, missing) == "default"
