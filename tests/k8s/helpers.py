"""Helpers for tests against the emulator: small manifests, waiting on a pod."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import ClientResponse
from kubernetes_asyncio.client import ApiClient, CoreV1Api, V1Pod

__all__ = [
    "NS",
    "PYTHON",
    "container_state",
    "create",
    "phase",
    "pod_manifest",
    "python_pod",
    "raw",
    "wait_pod",
]

NS = "default"
PYTHON = sys.executable


def pod_manifest(
    name: str,
    command: list[str],
    *,
    labels: dict[str, str] | None = None,
    image: str = "python:3.11",
    limits: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A one-container Pod (``main``) running ``command``; restartPolicy Never unless given."""
    container: dict[str, Any] = {"name": "main", "image": image, "command": command}
    if limits:
        container["resources"] = {"limits": limits}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def python_pod(name: str, code: str, **kwargs: Any) -> dict[str, Any]:
    """A Pod running ``python -c code`` with this interpreter."""
    return pod_manifest(name, [PYTHON, "-u", "-c", code], **kwargs)


async def create(v1: CoreV1Api, manifest: dict[str, Any], namespace: str = NS) -> V1Pod:
    """Create a pod from a JSON manifest (the client sends a dict as it is)."""
    return await v1.create_namespaced_pod(namespace, cast(V1Pod, manifest))


async def raw(call: Awaitable[Any]) -> ClientResponse:
    """The response of a call made with ``_preload_content=False``."""
    return cast(ClientResponse, await call)


async def wait_pod(
    api: ApiClient,
    name: str,
    check: Callable[[dict[str, Any]], object],
    timeout: float = 15.0,
    namespace: str = NS,
) -> dict[str, Any]:
    """Poll the pod (as JSON) until ``check(pod)`` is true; fail after ``timeout`` s."""
    v1 = CoreV1Api(api)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await raw(v1.read_namespaced_pod(name, namespace, _preload_content=False))
        pod: dict[str, Any] = await response.json()
        if check(pod):
            return pod
        if loop.time() > deadline:
            raise AssertionError(f"pod {name} not as expected within {timeout} s: {pod['status']}")
        await asyncio.sleep(0.05)


def phase(pod: dict[str, Any]) -> str:
    """The pod's phase."""
    return str(pod["status"].get("phase"))


def container_state(pod: dict[str, Any]) -> dict[str, Any]:
    """The ``state`` of the pod's first container ({} before it has one)."""
    statuses = pod["status"].get("containerStatuses") or [{}]
    return dict(statuses[0].get("state", {}))
