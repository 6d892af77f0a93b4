"""Fixtures of the emulator's own tests (defined in ``fixtures.py`` for reuse elsewhere)."""

from .fixtures import k8s, k8s_api, k8s_config, k8s_kubeconfig

__all__ = ["k8s", "k8s_api", "k8s_config", "k8s_kubeconfig"]
