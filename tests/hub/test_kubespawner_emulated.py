"""NeuroSpawner against the Kubernetes API emulator (tests/k8s): a pod that
cannot start fails the spawn at once, with the cluster's words, and is
deleted. Plain KubeSpawner waits out start_timeout instead (kubespawner#795).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api
from kubespawner import KubeSpawner
from kubespawner import spawner as kubespawner_module

from neuro_jupyter.hub.kubespawner import NeuroSpawner
from tests.hub.test_kubespawner import spawner as make_spawner
from tests.k8s.emulator import KubernetesEmulator
from tests.k8s.fixtures import k8s, k8s_api, k8s_config  # noqa: F401

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def cluster(
    k8s: KubernetesEmulator,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[KubernetesEmulator]:
    """KubeSpawner's client pointed at the emulator (node-1: 4 CPUs, 16Gi, no GPU)."""
    monkeypatch.setattr(kubespawner_module, "load_config", lambda **_: None)
    Configuration.set_default(k8s.configuration())
    yield k8s
    await KubeSpawner._stop_all_reflectors()


def spawner(cls: type[KubeSpawner], **traits: Any) -> Any:
    """alice's spawner (in group ml), in the emulator's namespace."""
    a_spawner = make_spawner(cls, groups=("ml",))
    a_spawner.namespace = "default"
    a_spawner.start_timeout = 8  # plain KubeSpawner waits it out
    for name, value in traits.items():
        setattr(a_spawner, name, value)
    return a_spawner


async def pods(api: ApiClient) -> list[str]:
    listed = await CoreV1Api(api).list_namespaced_pod("default")
    return [p.metadata.name for p in listed.items]


@pytest.mark.parametrize(
    "cls",
    [
        NeuroSpawner,
        pytest.param(KubeSpawner, marks=pytest.mark.xfail(strict=True, reason="kubespawner#795")),
    ],
)
async def test_a_preset_no_node_can_take_fails_the_spawn_with_the_schedulers_message(
    cluster: KubernetesEmulator,
    k8s_api: ApiClient,  # noqa: F811
    cls: type[KubeSpawner],
) -> None:
    a_spawner = spawner(cls)
    a_spawner.user_options = {"profile": "gpu-large"}  # 4 GPUs; the node has none
    if cls is KubeSpawner:  # the same pod's resources, set as KubeSpawner config
        a_spawner.user_options = {}
        a_spawner.extra_resource_limits = {"nvidia.com/gpu": "4"}
    with pytest.raises(Exception) as failed:
        await a_spawner.start()
    assert "0/1 nodes are available" in str(failed.value)  # the scheduler's message
    assert await pods(k8s_api) == []  # nothing left behind


async def test_an_image_that_cannot_be_pulled_fails_the_spawn(
    cluster: KubernetesEmulator,
    k8s_api: ApiClient,  # noqa: F811
) -> None:
    a_spawner = spawner(NeuroSpawner, image="registry.example/does-not-exist:1")
    a_spawner.user_options = {"profile": "cpu-small"}
    with pytest.raises(RuntimeError, match=r"(ErrImagePull|ImagePullBackOff): .*does-not-exist"):
        await a_spawner.start()
    assert await pods(k8s_api) == []
