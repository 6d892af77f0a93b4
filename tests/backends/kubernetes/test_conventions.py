"""Node conventions by name and by dict (kubernetes/conventions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from neuro_jupyter.backends.kubernetes.conventions import (
    CONVENTIONS,
    NodeConventions,
    Taint,
    parse_conventions,
)
from neuro_jupyter.backends.kubernetes.names import is_valid_label_key, is_valid_label_value


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_built_in_conventions_are_well_formed(name: str) -> None:
    conventions = parse_conventions(name)
    assert conventions is CONVENTIONS[name]
    assert conventions.name == name
    for key in (conventions.spot_label, conventions.gpu_model_label, conventions.gpu_resource):
        assert is_valid_label_key(key), key
    assert is_valid_label_value(conventions.spot_value)
    for taint in (conventions.spot_taint, conventions.gpu_taint):
        assert taint is None or is_valid_label_key(taint.key)


def test_the_clouds_labels() -> None:
    spot = {name: (c.spot_label, c.spot_value) for name, c in CONVENTIONS.items()}
    assert spot == {
        "generic": ("neuro-jupyter/preemptible", "true"),
        "gke": ("cloud.google.com/gke-spot", "true"),
        "aks": ("kubernetes.azure.com/scalesetpriority", "spot"),
        "eks": ("eks.amazonaws.com/capacityType", "SPOT"),
        "karpenter": ("karpenter.sh/capacity-type", "spot"),
    }
    assert CONVENTIONS["aks"].spot_taint == Taint("kubernetes.azure.com/scalesetpriority", "spot")
    assert CONVENTIONS["eks"].spot_taint is None
    assert CONVENTIONS["karpenter"].spot_taint is None
    assert CONVENTIONS["gke"].gpu_model_label == "cloud.google.com/gke-accelerator"
    assert CONVENTIONS["karpenter"].gpu_model_label == "karpenter.k8s.aws/instance-gpu-name"
    assert CONVENTIONS["aks"].gpu_taint == Taint("sku", "gpu")
    assert all(c.gpu_resource == "nvidia.com/gpu" for c in CONVENTIONS.values())


def test_tolerations() -> None:
    assert Taint("nvidia.com/gpu").toleration() == {
        "key": "nvidia.com/gpu",
        "operator": "Exists",
        "effect": "NoSchedule",
    }
    assert Taint("spot", "true", "NoExecute").toleration() == {
        "key": "spot",
        "operator": "Equal",
        "value": "true",
        "effect": "NoExecute",
    }


def test_a_dict_overrides_a_base() -> None:
    conventions = parse_conventions(
        {
            "base": "eks",
            "spot_taint": {"key": "spot", "value": "true"},
            "gpu_taint": None,
            "keep_off_spot": False,
        }
    )
    assert conventions == NodeConventions(
        name="custom (eks)",
        spot_label="eks.amazonaws.com/capacityType",
        spot_value="SPOT",
        spot_taint=Taint("spot", "true", "NoSchedule"),
        gpu_model_label="k8s.amazonaws.com/accelerator",
        gpu_taint=None,
        keep_off_spot=False,
    )


def test_a_dict_without_base_starts_from_generic() -> None:
    conventions = parse_conventions({"gpu_model_label": "example.com/gpu"})
    assert conventions.spot_label == CONVENTIONS["generic"].spot_label
    assert conventions.gpu_model_label == "example.com/gpu"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("openshift", "unknown node conventions 'openshift'"),
        ({"base": "nope"}, "unknown node conventions 'nope'"),
        ({"spot_lable": "x"}, "unknown node conventions field"),
        ({"name": "x"}, "unknown node conventions field"),
        ({"spot_label": "bad key!"}, "spot_label 'bad key!' is not a valid label key"),
        ({"spot_value": ""}, "spot_value"),
        ({"spot_value": 3}, "spot_value must be a string"),
        ({"spot_taint": "spot"}, "spot_taint must be null or an object"),
        ({"spot_taint": {"key": "a", "colour": "b"}}, "spot_taint must be null or an object"),
        ({"gpu_taint": {"key": "/x"}}, "gpu_taint.key"),
        ({"gpu_taint": {"key": "x", "value": "a b"}}, "gpu_taint.value"),
        ({"gpu_taint": {"key": "x", "effect": "Never"}}, "gpu_taint.effect"),
        ({"keep_off_spot": "yes"}, "keep_off_spot must be true or false"),
    ],
)
def test_bad_conventions_are_named(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_conventions(value)
