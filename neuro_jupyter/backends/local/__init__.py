"""The local backend (DESIGN.md §5): each job a process group on this machine.

- :mod:`.backend`: :class:`LocalBackend`, scheduling, adoption, kill, logs, exec;
- :mod:`.runner`: the detached process that runs one job and records its end;
- :mod:`.launcher`: a warm process that forks runners fast;
- :mod:`.launching`: the checks and the folder a job needs before its runner;
- :mod:`.jobdir`: the job's folder, its files and process-group signals;
- :mod:`.child`: starting the command itself;
- :mod:`.sandbox`: bubblewrap, so volumes appear at their mount paths;
- :mod:`.storage`: where a volume's source is on this machine;
- :mod:`.resources`: what fits in the free CPUs, memory and GPUs;
- :mod:`.gpus`: GPUs through NVML;
- :mod:`.telemetry`: CPU, memory and GPU samples of a job's processes;
- :mod:`.outcome`: how a job ended, from what its runner left;
- :mod:`.notify`: the runner's wake-up message to the server;
- :mod:`.execs`: commands run inside a running job.

:class:`LocalBackend` is imported on first use, so that ``python -m
neuro_jupyter.backends.local.runner`` starts without the server's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import LocalBackend

__all__ = ["LocalBackend"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from .backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
