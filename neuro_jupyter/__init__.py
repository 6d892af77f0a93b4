"""neuro-jupyter: Neu.ro-style jobs inside Jupyter."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt sidebar, for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "neuro-jupyter"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.extension import NeuroJobsApp

    return [{"module": "neuro_jupyter", "app": NeuroJobsApp}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext neuro_jupyter``: the ``%neuro`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)
