"""NeuroSpawner's pods: a preset's resources and placement, freshly each spawn.

Pure: the spawner builds its Pod without a cluster (``get_pod_manifest``);
every pod is validated against the Kubernetes schema. The leak test runs on
plain KubeSpawner too, where it fails (kubespawner#546, #691).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_asyncio.client import ApiClient, Configuration
from kubespawner import KubeSpawner
from kubespawner import spawner as kubespawner_module
from traitlets.config import Config

from neuro_jupyter.backends.kubernetes.conventions import CONVENTIONS
from neuro_jupyter.backends.kubernetes.pods import PodConfig, preset_placement
from neuro_jupyter.hub.kubespawner import NeuroSpawner
from neuro_jupyter.jobs.presets import parse_preset, preset_label

PRESETS = [
    {"name": "cpu-small", "cpu": 1, "memory": "4GiB"},
    {"name": "gpu-small", "cpu": 7, "memory": "57GB", "gpu": 1, "gpu_model": "nvidia-tesla-v100",
     "preemptible": True},
    {"name": "gpu-large", "cpu": 16, "memory": "120GB", "gpu": 4, "gpu_model": "nvidia-a100"},
]  # fmt: skip


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """KubeSpawner looks for a cluster when made; these tests need none."""
    monkeypatch.setattr(kubespawner_module, "load_config", lambda **_: None)
    Configuration.set_default(Configuration(host="http://127.0.0.1:1"))
    yield


def config() -> Config:
    c = Config()
    c.NeuroJobs.presets = PRESETS
    c.NeuroSpawner.preset_groups = {"ml": ["gpu-large"]}
    c.KubernetesBackend.node_conventions = "gke"
    return c


def user(name: str = "alice", groups: tuple[str, ...] = (), admin: bool = False) -> Any:
    return SimpleNamespace(
        name=name, id=7, url=f"/user/{name}/", admin=admin,
        groups=[SimpleNamespace(name=g) for g in groups], escaped_name=name,
    )  # fmt: skip


def spawner(cls: type[KubeSpawner] = NeuroSpawner, **kwargs: Any) -> Any:
    return cls(_mock=True, config=config(), user=user(**kwargs), hub=SimpleNamespace(
        public_host="hub", url="http://hub:8081/hub/", base_url="/hub/",
        api_url="http://hub:8081/hub/api",
    ))  # fmt: skip


async def pod_of(a_spawner: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The pod a spawn with ``options`` makes, as a dict, checked against the schema."""
    a_spawner.user_options = options
    await a_spawner.load_user_options()
    pod = await a_spawner.get_pod_manifest()
    async with ApiClient() as client:
        manifest: dict[str, Any] = client.sanitize_for_serialization(pod)
    kubernetes_validate.validate(manifest, "1.33", strict=True)
    return manifest


def placement_of(name: str) -> Any:
    preset = next(parse_preset(p["name"], p) for p in PRESETS if p["name"] == name)
    return preset_placement(preset, PodConfig(conventions=CONVENTIONS["gke"]))


async def test_the_form_lists_the_presets_this_user_may_pick() -> None:
    profiles = spawner()._profiles()
    assert [p["slug"] for p in profiles] == ["cpu-small", "gpu-small"]
    assert profiles[0]["default"] and not profiles[1]["default"]
    assert profiles[1]["display_name"] == preset_label(parse_preset("gpu-small", PRESETS[1]))
    ml = [p["slug"] for p in spawner(groups=("ml",))._profiles()]
    assert ml == ["cpu-small", "gpu-small", "gpu-large"]
    assert len(spawner(admin=True)._profiles()) == 3


async def test_a_gpu_preset_places_the_pod_as_a_jobs_pod_would_be() -> None:
    pod = await pod_of(spawner(), {"profile": "gpu-small"})
    container = pod["spec"]["containers"][0]
    expected = placement_of("gpu-small")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert float(container["resources"]["limits"]["cpu"]) == 7.0
    assert int(container["resources"]["limits"]["memory"]) == 57 * 10**9
    assert container["resources"]["limits"] == container["resources"]["requests"]
    assert pod["spec"]["nodeSelector"] == expected.node_selector
    assert pod["spec"]["nodeSelector"]["cloud.google.com/gke-accelerator"] == "nvidia-tesla-v100"
    for toleration in expected.tolerations:
        assert toleration in pod["spec"]["tolerations"]
    assert pod["spec"]["affinity"]["nodeAffinity"] == expected.affinity["nodeAffinity"]


@pytest.mark.parametrize(
    "cls",
    [
        NeuroSpawner,
        pytest.param(KubeSpawner, marks=pytest.mark.xfail(strict=True, reason="kubespawner#546")),
    ],
)
async def test_nothing_of_a_gpu_spawn_stays_for_the_next(cls: type[KubeSpawner]) -> None:
    a_spawner = spawner(cls)
    if cls is KubeSpawner:  # the same presets as KubeSpawner profiles would say them
        a_spawner.profile_list = [
            {"display_name": "gpu-small", "slug": "gpu-small", "kubespawner_override": {
                "extra_resource_limits": {"nvidia.com/gpu": "1"},
                "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                 "effect": "NoSchedule"}]}},
            {"display_name": "cpu-small", "slug": "cpu-small",
             "kubespawner_override": {"cpu_limit": 1.0, "mem_limit": "4G"}},
        ]  # fmt: skip
    await pod_of(a_spawner, {"profile": "gpu-small"})
    pod = await pod_of(a_spawner, {"profile": "cpu-small"})  # stopped, started again
    resources = pod["spec"]["containers"][0]["resources"]
    assert "nvidia.com/gpu" not in resources.get("limits", {})
    assert "nvidia.com/gpu" not in resources.get("requests", {})
    assert "cloud.google.com/gke-accelerator" not in (pod["spec"].get("nodeSelector") or {})
    assert not [t for t in pod["spec"].get("tolerations") or [] if t["key"] == "nvidia.com/gpu"]


async def test_a_forged_or_unknown_preset_fails_the_spawn_naming_it() -> None:
    with pytest.raises(ValueError, match="preset 'gpu-large' is not available to you"):
        await pod_of(spawner(), {"profile": "gpu-large"})
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        await pod_of(spawner(), {"profile": "nope"})
    pod = await pod_of(spawner(groups=("ml",)), {"preset": "gpu-large"})  # the REST spelling
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"


async def test_no_choice_is_the_first_preset() -> None:
    pod = await pod_of(spawner(), {})
    limits = pod["spec"]["containers"][0]["resources"]["limits"]
    assert float(limits["cpu"]) == 1.0 and "nvidia.com/gpu" not in limits
