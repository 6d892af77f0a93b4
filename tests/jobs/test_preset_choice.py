"""neuro_jupyter/jobs/preset_choice.py: which presets a hub user may pick."""

from __future__ import annotations

import pytest

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.preset_choice import allowed_presets, choose_preset
from neuro_jupyter.jobs.presets import parse_preset

PRESETS = [
    parse_preset("cpu-small", {"cpu": 1, "memory": "4GB"}),
    parse_preset(
        "gpu-small",
        {"cpu": 7, "memory": "57GB", "gpu": 1, "gpu_model": "V100", "preemptible": True},
    ),
    parse_preset("gpu-large", {"cpu": 16, "memory": "120GB", "gpu": 4, "gpu_model": "A100"}),
]
GROUPS = {"ml": ["gpu-small", "gpu-large"], "big": ["gpu-large"]}


def names(presets: list[object]) -> list[str]:
    return [p.name for p in presets]  # type: ignore[attr-defined]


def test_group_presets_are_for_their_members_and_admins() -> None:
    assert names(allowed_presets(PRESETS, GROUPS, [])) == ["cpu-small"]
    assert names(allowed_presets(PRESETS, GROUPS, ["ml"])) == names(PRESETS)
    assert names(allowed_presets(PRESETS, GROUPS, ["big"])) == ["cpu-small", "gpu-large"]
    assert names(allowed_presets(PRESETS, GROUPS, [], admin=True)) == names(PRESETS)
    assert names(allowed_presets(PRESETS, {}, [])) == names(PRESETS)


def test_the_choice_is_checked_and_named_when_refused() -> None:
    allowed = allowed_presets(PRESETS, GROUPS, [])
    assert choose_preset(None, allowed, PRESETS).name == "cpu-small"  # the default: first
    assert choose_preset(" cpu-small ", allowed, PRESETS).name == "cpu-small"
    with pytest.raises(InvalidSpec, match="preset 'gpu-large' is not available to you"):
        choose_preset("gpu-large", allowed, PRESETS)  # a forged form value
    with pytest.raises(InvalidSpec, match="unknown preset 'huge'"):
        choose_preset("huge", allowed, PRESETS)
    with pytest.raises(InvalidSpec, match="no preset is available"):
        choose_preset(None, [], PRESETS)
