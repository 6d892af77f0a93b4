"""The emulator of tests/k8s for the kubernetes backend's tests."""

from tests.k8s.fixtures import k8s, k8s_api, k8s_config, k8s_kubeconfig

__all__ = ["k8s", "k8s_api", "k8s_config", "k8s_kubeconfig"]
