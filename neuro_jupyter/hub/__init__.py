"""neuro-jupyter on a JupyterHub (DESIGN.md §6).

- :mod:`.service`: the jobs service, one per hub (``neuro-jupyter-hub-service``).
- :mod:`.identity`: the hub's login for it (HubOAuth, tokens, scopes, groups).
- :mod:`.relay`: users' servers pass ``neuro/api`` to it, as their owner.
- :mod:`.kubespawner`: ``NeuroSpawner``, users' servers as pods on the jobs'
  presets; :mod:`.jobspawner`: ``NeuroJobSpawner``, users' servers as jobs
  (one machine); :mod:`.presets`: what both share (the rule is
  :mod:`neuro_jupyter.jobs.preset_choice`).
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported here: a plain ``import neuro_jupyter.hub`` needs no jupyterhub.
    from .service import NeuroHubService

    return [{"module": "neuro_jupyter.hub", "app": NeuroHubService}]
