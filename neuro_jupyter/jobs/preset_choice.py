"""Which presets a hub user may place a notebook server on. Pure.

One preset list (``c.NeuroJobs.presets``) sizes jobs and notebook servers
alike. ``c.NeuroSpawner.preset_groups`` keeps some presets to members of hub
groups (``{"ml": ["gpu-small", "gpu-large"]}``); presets no group names are
everyone's, and hub admins may pick any.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from .errors import InvalidSpec
from .model import Preset

__all__ = ["allowed_presets", "choose_preset"]


def allowed_presets(
    presets: Sequence[Preset],
    preset_groups: Mapping[str, Collection[str]],
    groups: Collection[str],
    *,
    admin: bool = False,
) -> list[Preset]:
    """The presets, in their order, that a user in ``groups`` may pick.

    A preset named under any group of ``preset_groups`` is for members of
    those groups only; the rest are for everyone; admins get all.
    """
    if admin:
        return list(presets)
    kept: dict[str, set[str]] = {}
    for group, names in preset_groups.items():
        for name in names:
            kept.setdefault(name, set()).add(group)
    return [p for p in presets if p.name not in kept or kept[p.name] & set(groups)]


def choose_preset(name: object, allowed: Sequence[Preset], presets: Sequence[Preset]) -> Preset:
    """The preset a spawn asked for, if this user may have it; the first allowed by default.

    Raises:
        InvalidSpec: ``preset``: an unknown preset, one this user may not
            pick (naming it), or none allowed at all.
    """
    if not allowed:
        raise InvalidSpec("preset", "no preset is available to you on this hub")
    if name is None or name == "":
        return allowed[0]
    if not isinstance(name, str):
        raise InvalidSpec("preset", f"preset must be a name, not {type(name).__name__}")
    name = name.strip()
    for preset in allowed:
        if preset.name == name:
            return preset
    choices = ", ".join(p.name for p in allowed)
    if any(p.name == name for p in presets):
        raise InvalidSpec("preset", f"preset {name!r} is not available to you: pick {choices}")
    raise InvalidSpec("preset", f"unknown preset {name!r}: pick {choices}")
