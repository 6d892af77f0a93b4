"""Memory sizes, preset definitions and machine-sized presets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Preset
from neuro_jupyter.jobs.presets import (
    MIN_MEMORY,
    find_preset,
    format_memory,
    format_preset_size,
    is_valid_preset_name,
    local_presets,
    parse_memory,
    parse_preset,
    parse_preset_name,
    preset_label,
)

GiB = 2**30


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1024, 1024),
        ("1024", 1024),
        ("2GB", 2 * 10**9),
        ("2G", 2 * 10**9),
        ("2gb", 2 * 10**9),
        ("512Mi", 512 * 2**20),
        ("1.5GiB", 3 * 2**29),
        ("256MB", 256 * 10**6),
        ("1Ti", 2**40),
        ("1P", 10**15),
        ("2PB", 2 * 10**15),
        ("1Pi", 2**50),
        ("3pib", 3 * 2**50),
        (" 2Gi\n", 2 * 2**30),
        ("10K", 10_000),
        ("7B", 7),
        (" 2 GiB ", 2 * GiB),
        (2e9, 2 * 10**9),
        ("0.1", 0),
    ],
)
def test_memory(value: object, size: int) -> None:
    assert parse_memory(value) == size


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2XB", "Ki, Mi, Gi, Ti, Pi powers of 1024"),
        ("-1G", "is invalid"),
        ("G", "is invalid"),
        ("", "is invalid"),
        ("1e9", "is invalid"),
        (-5, "cannot be negative"),
        (float("nan"), "is invalid"),
        (True, "not bool"),
        (None, "not NoneType"),
    ],
)
def test_bad_memory(value: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_memory(value)
    assert info.value.field == "preset"
    assert words in str(info.value)


@given(st.integers(min_value=0, max_value=2**50))
def test_memory_round_trip(size: int) -> None:
    assert parse_memory(format_memory(size)) == size


def test_format_memory() -> None:
    assert format_memory(2 * GiB) == "2GiB"
    assert format_memory(512 * 2**20) == "512MiB"
    assert format_memory(1000) == "1000"
    assert format_memory(3 * 2**50) == "3PiB"
    assert format_memory(0) == "0"


def test_preset_names() -> None:
    assert parse_preset_name("gpu-a100-x2") == "gpu-a100-x2"
    assert is_valid_preset_name("cpu")
    for bad in ("Cpu", "cpu_small", "-cpu", "cpu--x", "", "x" * 64):
        assert not is_valid_preset_name(bad)
        with pytest.raises(InvalidSpec, match=r"preset name .* is invalid") as info:
            parse_preset_name(bad)
        assert info.value.field == "preset"


def test_full_preset() -> None:
    data = {
        "cpu": 8,
        "memory": "60GiB",
        "gpu": 1,
        "gpu_model": "nvidia-tesla-a100",
        "preemptible": True,
        "node_selector": {"pool": "gpu"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "priority_class": "high",
    }
    preset = parse_preset("gpu-a100", data)
    assert preset == Preset(
        "gpu-a100",
        cpu=8.0,
        memory=60 * GiB,
        gpu=1,
        gpu_model="nvidia-tesla-a100",
        preemptible=True,
        node_selector={"pool": "gpu"},
        tolerations=({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},),
        priority_class="high",
    )
    assert parse_preset(preset.name, preset.to_json()) == preset


def test_minimal_preset() -> None:
    assert parse_preset("cpu-small", {"cpu": 0.1, "memory": MIN_MEMORY}) == Preset(
        "cpu-small", 0.1, MIN_MEMORY
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"memory": "1G"}, "cpu is required"),
        ({"cpu": 1}, "memory is required"),
        ({"cpu": 0.05, "memory": "1G"}, "at least 0.1"),
        ({"cpu": "1", "memory": "1G"}, "cpu must be a number"),
        ({"cpu": float("inf"), "memory": "1G"}, "too small"),
        ({"cpu": 1, "memory": "15Mi"}, "at least 16MiB"),
        ({"cpu": 1, "memory": "1G", "gpu": -1}, "gpu must be a whole number"),
        ({"cpu": 1, "memory": "1G", "gpu": 1.5}, "gpu must be a whole number"),
        ({"cpu": 1, "memory": "1G", "gpu": True}, "gpu must be a whole number"),
        ({"cpu": 1, "memory": "1G", "gpu_model": 3}, "gpu_model must be"),
        ({"cpu": 1, "memory": "1G", "preemptible": "yes"}, "true or false"),
        ({"cpu": 1, "memory": "1G", "node_selector": {"a": 1}}, "string labels"),
        ({"cpu": 1, "memory": "1G", "node_selector": []}, "string labels"),
        ({"cpu": 1, "memory": "1G", "tolerations": {}}, "list of objects"),
        ({"cpu": 1, "memory": "1G", "tolerations": ["x"]}, "each toleration"),
        ({"cpu": 1, "memory": "1G", "tolerations": [{"kee": "a"}]}, "field 'kee'"),
        ({"cpu": 1, "memory": "1G", "tolerations": [{"operator": "In"}]}, "Equal or Exists"),
        ({"cpu": 1, "memory": "1G", "tolerations": [{"effect": "Later"}]}, "NoSchedule"),
        ({"cpu": 1, "memory": "1G", "tolerations": [{"key": 1}]}, "key must be a string"),
        (
            {"cpu": 1, "memory": "1G", "tolerations": [{"tolerationSeconds": "5"}]},
            "tolerationSeconds",
        ),
        ({"cpu": 1, "memory": "1G", "priority_class": ""}, "priority_class must be"),
        ({"cpu": 1, "memory": "1G", "ram": 1}, "unknown field 'ram'"),
        ({"cpu": 1, "memory": "1G", "name": "other"}, "names another preset"),
    ],
)
def test_bad_presets(data: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_preset("p", data)
    assert info.value.field == "preset"
    assert str(info.value).startswith("preset 'p': ")
    assert words in str(info.value)


def test_preset_definition_must_be_an_object() -> None:
    with pytest.raises(InvalidSpec, match="must be an object"):
        parse_preset("p", [])  # type: ignore[arg-type]


def test_local_presets_small_machine() -> None:
    presets = local_presets(2, 4 * GiB, [])
    assert [p.name for p in presets] == ["cpu-small", "cpu-large"]
    small, large = presets
    assert (small.cpu, small.memory) == (1.0, 2 * GiB)
    assert (large.cpu, large.memory) == (2.0, 4 * GiB * 4 // 5)


def test_local_presets_tiny_machine() -> None:
    presets = local_presets(1, GiB, [])
    assert [(p.name, p.cpu, p.memory) for p in presets] == [("cpu-small", 1.0, GiB)]


def test_local_presets_gpu_machine() -> None:
    presets = local_presets(16, 64 * GiB, ["A100", "A100"])
    by_name = {p.name: p for p in presets}
    assert list(by_name) == ["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-large"]
    assert (by_name["cpu-medium"].cpu, by_name["cpu-medium"].memory) == (8.0, 32 * GiB)
    assert by_name["gpu-small"].gpu == 1
    assert by_name["gpu-small"].cpu == 8.0
    assert by_name["gpu-small"].gpu_model == "A100"
    assert by_name["gpu-large"].gpu == 2
    assert by_name["gpu-large"].memory == 64 * GiB * 4 // 5


def test_local_presets_one_gpu_mixed_models() -> None:
    names = [p.name for p in local_presets(4, 8 * GiB, ["T4"])]
    assert names == ["cpu-small", "cpu-medium", "cpu-large", "gpu-small"]
    mixed = local_presets(4, 8 * GiB, ["T4", "A100"])
    assert {p.gpu_model for p in mixed if p.gpu} == {None}


@given(
    st.integers(0, 256),
    st.integers(0, 2**42),
    st.lists(st.sampled_from(["T4", "A100"]), max_size=8),
)
def test_local_presets_are_valid(cpus: int, memory: int, gpus: list[str]) -> None:
    presets = local_presets(cpus, memory, gpus)
    assert presets[0].name == "cpu-small"
    assert len({p.name for p in presets}) == len(presets)
    for preset in presets:
        assert parse_preset(preset.name, preset.to_json()) == preset
        assert preset.cpu <= max(1, cpus)
        assert preset.memory <= max(MIN_MEMORY, memory)
        assert preset.gpu <= len(gpus)


def test_find_preset() -> None:
    presets = local_presets(4, 8 * GiB, [])
    assert find_preset(presets, "cpu-large").name == "cpu-large"
    with pytest.raises(InvalidSpec) as info:
        find_preset(presets, "x")
    assert info.value.field == "preset"
    assert str(info.value) == "unknown preset 'x': available: cpu-small, cpu-medium, cpu-large"
    with pytest.raises(InvalidSpec, match="available: none"):
        find_preset([], "x")


@pytest.mark.parametrize(
    ("preset", "text"),
    [
        (Preset("a", 1, 2 * 2**30), "1 CPU, 2 GiB, no GPU"),
        (Preset("b", 0.5, 2_000_000_000), "0.5 CPU, 2 GB, no GPU"),  # as configured
        (Preset("m", 1, 2_040_109_465), "1 CPU, 1.9 GiB, no GPU"),  # a machine's share
        (
            Preset("c", 8, 64_000_000_000, gpu=1, gpu_model="nvidia-a100"),
            "8 CPU, 64 GB, 1 x nvidia-a100",
        ),
        (
            Preset("d", 2, 256 * 2**20, gpu=2, preemptible=True),
            "2 CPU, 256 MiB, 2 GPU, preemptible",
        ),
    ],
)
def test_one_size_formatter_for_every_surface(preset: Preset, text: str) -> None:
    assert format_preset_size(preset) == text


def test_a_preset_reads_as_its_name_and_size_on_every_surface() -> None:
    gpu_small = parse_preset(
        "gpu-small",
        {"cpu": 7, "memory": "57GB", "gpu": 1, "gpu_model": "V100", "preemptible": True},
    )
    assert preset_label(gpu_small) == "gpu-small — 7 CPU, 57 GB, 1 x V100, preemptible"
    assert preset_label(parse_preset("cpu-small", {"cpu": 1, "memory": "2GiB"})) == (
        "cpu-small — 1 CPU, 2 GiB, no GPU"
    )
