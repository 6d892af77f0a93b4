"""Fixtures: a running emulator in the test's event loop, a client and a kubeconfig for it.

Use them from another test package by importing them into its conftest::

    from tests.k8s.fixtures import k8s, k8s_api, k8s_config, k8s_kubeconfig  # noqa: F401

Override ``k8s_config`` (a module- or class-level fixture of the same name) for
other nodes (a GPU node, a tainted spot node), missing images or timings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio.client import ApiClient

from .emulator import KubernetesEmulator
from .kubelet import KubeletConfig

__all__ = ["k8s", "k8s_api", "k8s_config", "k8s_kubeconfig"]


@pytest.fixture
def k8s_config(tmp_path: Path) -> KubeletConfig:
    """One node ``node-1`` (4 CPUs, 16Gi, no GPU); images named ``*does-not-exist*`` fail."""
    return KubeletConfig(state_dir=tmp_path / "kubelet")


@pytest.fixture
async def k8s(k8s_config: KubeletConfig) -> AsyncIterator[KubernetesEmulator]:
    """A started emulator on 127.0.0.1; its processes are killed at teardown."""
    emulator = KubernetesEmulator(k8s_config)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
    assert not emulator.kubelet.errors, f"pod workers crashed: {emulator.kubelet.errors}"


@pytest.fixture
async def k8s_api(k8s: KubernetesEmulator) -> AsyncIterator[ApiClient]:
    """A kubernetes_asyncio ApiClient pointed at the emulator."""
    async with ApiClient(k8s.configuration()) as api:
        yield api


@pytest.fixture
def k8s_kubeconfig(
    k8s: KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A kubeconfig for the emulator (namespace ``default``), also exported as KUBECONFIG."""
    path = k8s.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path
