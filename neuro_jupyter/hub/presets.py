"""What both spawners share: the hub's presets and which of them a user may pick.

The rule itself is the domain's (:mod:`neuro_jupyter.jobs.preset_choice`);
this mixin gives it a spawner's configuration and user.
"""

from __future__ import annotations

from typing import Any

from traitlets import Dict, HasTraits, List

from ..config import NeuroJobs
from ..jobs.model import Preset
from ..jobs.preset_choice import allowed_presets

__all__ = ["PresetChoice"]


class PresetChoice(HasTraits):  # type: ignore[misc]
    """``c.NeuroJobs.presets`` for a spawner, filtered by ``preset_groups``."""

    preset_groups = Dict(
        value_trait=List(),
        config=True,
        help="""Presets kept to members of hub groups: {"ml": ["gpu-small",
        "gpu-large"]}. Presets no group names are everyone's; hub admins may
        pick any.""",
    )

    user: Any

    def presets(self) -> list[Preset]:
        """Every preset of the hub (``c.NeuroJobs.presets``; the jobs service reads the same)."""
        return NeuroJobs(parent=self).configured_presets()

    def allowed(self) -> list[Preset]:
        """The presets this spawner's user may pick."""
        groups = [group.name for group in getattr(self.user, "groups", [])]
        admin = bool(getattr(self.user, "admin", False))
        return allowed_presets(self.presets(), self.preset_groups, groups, admin=admin)
