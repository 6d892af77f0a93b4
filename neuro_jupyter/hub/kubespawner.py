"""NeuroSpawner: users' notebook servers on Kubernetes, placed on the jobs' presets.

A ``KubeSpawner`` (jupyterhub-kubespawner) whose ``profile_list`` is made
from ``c.NeuroJobs.presets`` — the list the jobs use, one place to configure —
and whose pods get a preset's resources and placement by the kubernetes
backend's own rule (:func:`~neuro_jupyter.backends.kubernetes.pods.preset_placement`:
requests = limits, the GPU resource, the GPU model selector, spot tolerations
and affinity per ``c.KubernetesBackend.node_conventions``).

Each spawn's preset is applied fresh over the configured values, never
merged into what the last spawn left (kubespawner#546, #691: a GPU limit or a
node selector outliving its profile). A preset the user may not pick, or
one that does not exist, fails the spawn naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Mapping
from typing import Any

from kubespawner import KubeSpawner
from traitlets import Float, default
from traitlets.config import Config

from ..backends.kubernetes.config import KubernetesConfig
from ..backends.kubernetes.pods import Placement, preset_placement
from ..jobs.errors import InvalidSpec
from ..jobs.model import Preset
from ..jobs.preset_choice import choose_preset
from ..jobs.presets import preset_label
from .presets import PresetChoice

__all__ = ["PRESET_TRAITS", "NeuroSpawner", "why_it_cannot_start"]

PRESET_TRAITS = (
    "cpu_limit",
    "cpu_guarantee",
    "mem_limit",
    "mem_guarantee",
    "extra_resource_limits",
    "extra_resource_guarantees",
    "node_selector",
    "tolerations",
    "node_affinity_required",
    "priority_class_name",
)
"""The KubeSpawner traits a preset sets: restored to their configured values before each spawn."""


CANNOT_START = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
"""Waiting reasons of a container that will not start without someone changing something."""


def why_it_cannot_start(pod: Mapping[str, Any] | None) -> str | None:
    """Why a pending pod will not start (the cluster's own words), or None. Pure.

    Unschedulable (no node has what the preset asks: ``0/3 nodes are
    available: 3 Insufficient nvidia.com/gpu``) and images that cannot be
    pulled or run. A cluster that scales up may schedule an unschedulable
    pod later; a hub that wants to wait for that sets ``c.NeuroSpawner.fail_early``
    to 0.
    """
    if not pod:
        return None
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return f"no node can take it: {condition.get('message') or 'Unschedulable'}"
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            return f"{waiting['reason']}: {waiting.get('message') or container.get('image')}"
    return None


class NeuroSpawner(PresetChoice, KubeSpawner):  # type: ignore[misc]
    """KubeSpawner on presets: the spawn form lists the presets this user may pick."""

    fail_early = Float(
        1.0,
        config=True,
        help="""Seconds between looks at a starting pod for a reason it will never
        start (Unschedulable, an image that cannot be pulled): the spawn then
        fails with the cluster's message at once instead of after
        start_timeout (kubespawner#795). 0: wait for start_timeout.""",
    )

    @default("profile_list")
    def _default_profile_list(self) -> Any:
        return self._profiles

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The backend's traits (c.KubernetesBackend.*) say how this cluster's
        # nodes are labelled and tainted; the spawner reads the same.
        merged = Config()
        merged.KubernetesConfig.merge(self.config.get("KubernetesConfig", Config()))
        merged.KubernetesConfig.merge(self.config.get("KubernetesBackend", Config()))
        self.kubernetes = KubernetesConfig(config=merged, log=self.log)
        self._configured = {name: copy.deepcopy(getattr(self, name)) for name in PRESET_TRAITS}

    # -- which presets ------------------------------------------------------

    def _profiles(self, spawner: Any = None) -> list[dict[str, Any]]:
        return [
            {"display_name": preset_label(p), "slug": p.name, "default": i == 0}
            for i, p in enumerate(self.allowed())
        ]

    # -- each spawn ---------------------------------------------------------

    async def load_user_options(self) -> None:
        """Apply the chosen preset over the configured values (nothing of the last spawn).

        Raises:
            ValueError: the preset does not exist or is not this user's to pick.
        """
        for name, value in self._configured.items():
            setattr(self, name, copy.deepcopy(value))
        options = self.user_options or {}
        asked = options.get("profile", options.get("preset"))
        try:
            preset = choose_preset(asked, self.allowed(), self.presets())
            placement = preset_placement(preset, self.kubernetes.pod_config())
        except InvalidSpec as exc:
            raise ValueError(exc.message) from None
        self.apply_placement(preset, placement)
        self.log.info("%s's server on preset %s", self.user.name, preset.name)

    def apply_placement(self, preset: Preset, placement: Placement) -> None:
        """Set the preset traits from the placement, on top of the configured values."""
        limits = placement.resources["limits"]
        extra = {k: v for k, v in limits.items() if k not in ("cpu", "memory")}
        self.cpu_limit = self.cpu_guarantee = float(preset.cpu)
        self.mem_limit = self.mem_guarantee = int(preset.memory)
        self.extra_resource_limits = {**self._configured["extra_resource_limits"], **extra}
        self.extra_resource_guarantees = {**self._configured["extra_resource_guarantees"], **extra}
        self.node_selector = {**self._configured["node_selector"], **placement.node_selector}
        configured_tolerations = list(self._configured["tolerations"])
        self.tolerations = configured_tolerations + [
            t for t in placement.tolerations if t not in configured_tolerations
        ]
        if placement.affinity is not None:
            required = placement.affinity["nodeAffinity"]
            terms = required["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            self.node_affinity_required = copy.deepcopy(terms)
        if placement.priority_class:
            self.priority_class_name = placement.priority_class

    async def _start(self) -> Any:
        """KubeSpawner's start, failed as soon as the pod shows it will not start.

        Raises:
            RuntimeError: the pod cannot start, with the cluster's reason (the
                spawn-pending page shows it); the pod is deleted first.
        """
        if self.fail_early <= 0:
            return await super()._start()
        started = asyncio.ensure_future(super()._start())
        doomed = asyncio.ensure_future(self._cannot_start())
        try:
            await asyncio.wait({started, doomed}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the hub gave up waiting (start_timeout)
            started.cancel()
            doomed.cancel()
            raise
        if started.done():
            doomed.cancel()
            return started.result()
        started.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await started
        await self.stop(now=True)  # nothing left behind: no pod
        raise RuntimeError(f"{self.user.name}'s server cannot start: {doomed.result()}")

    async def _cannot_start(self) -> str:
        """Wait until the pod shows a reason it will never start; that reason."""
        key = f"{self.namespace}/{self.pod_name}"
        while True:
            await asyncio.sleep(self.fail_early)
            reflector = self.pod_reflector
            reason = why_it_cannot_start(reflector.pods.get(key) if reflector else None)
            if reason is not None:
                return reason
