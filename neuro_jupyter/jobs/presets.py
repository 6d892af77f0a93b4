"""Presets: memory sizes, validated preset definitions, machine-sized defaults.

Memory units: plain numbers are bytes; ``K``/``KB``, ``M``/``MB``, ``G``/``GB``,
``T``/``TB``, ``P``/``PB`` are decimal (powers of 1000, as disk and cloud vendors
use them); ``Ki``/``KiB``, ``Mi``/``MiB``, ``Gi``/``GiB``, ``Ti``/``TiB``,
``Pi``/``PiB`` are binary (powers of 1024, as Kubernetes uses them). Units are
case-insensitive; fractions are allowed and rounded down to whole bytes
(``1.5GiB``); surrounding whitespace is ignored.

Every error is ``InvalidSpec("preset", ...)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ._quote import quote
from ._text import stripped
from .errors import InvalidSpec
from .model import Preset

__all__ = [
    "MIN_CPU",
    "MIN_MEMORY",
    "find_preset",
    "format_memory",
    "format_preset_size",
    "format_size",
    "is_valid_preset_name",
    "local_presets",
    "parse_memory",
    "parse_preset",
    "parse_preset_name",
    "preset_label",
]

FIELD = "preset"
MIN_CPU = 0.1
MIN_MEMORY = 16 * 2**20
"""16 MiB, the Neu.ro API minimum."""

_GiB = 2**30
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "p": 10**15,
    "pb": 10**15,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
    "pi": 2**50,
    "pib": 2**50,
}
_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")
_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_NAME_MAX = 63


def is_valid_preset_name(value: object) -> bool:
    """Whether ``value`` is a valid preset name (lowercase words joined by single hyphens)."""
    return isinstance(value, str) and len(value) <= _NAME_MAX and bool(_NAME_RE.fullmatch(value))


def parse_preset_name(value: object) -> str:
    """Check a preset name and return it without surrounding whitespace.

    Raises:
        InvalidSpec: ``preset``.
    """
    value = stripped(value)
    if not isinstance(value, str):
        raise InvalidSpec(FIELD, f"preset name must be a string, not {type(value).__name__}")
    if not is_valid_preset_name(value):
        raise InvalidSpec(
            FIELD,
            f"preset name {quote(value)} is invalid: use up to {_NAME_MAX} lowercase letters, "
            "digits and single hyphens, starting with a letter",
        )
    return value


def parse_memory(value: object) -> int:
    """A memory size in bytes: an int (bytes) or a string such as ``2GB``,
    ``512Mi``, ``1.5GiB``, ``256MB`` (see the module docstring for units).

    Raises:
        InvalidSpec: ``preset``: wrong type, unknown unit, or negative.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidSpec(
            FIELD, f"memory must be bytes or a size like '2GiB', not {type(value).__name__}"
        )
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise InvalidSpec(FIELD, f"memory {value} is invalid: use a size like '2GiB'")
        return int(value)
    if isinstance(value, int):
        if value < 0:
            raise InvalidSpec(FIELD, f"memory {value} is invalid: it cannot be negative")
        return value
    text = str(stripped(value))
    match = _MEMORY_RE.fullmatch(text) if text.isascii() else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None or len(match.group(1)) > 30:
        raise InvalidSpec(
            FIELD,
            f"memory {quote(value)} is invalid: use bytes or a number with a unit "
            "(K, M, G, T, P are powers of 1000; Ki, Mi, Gi, Ti, Pi powers of 1024), e.g. 2GiB",
        )
    try:
        return int(Decimal(match.group(1)) * unit)
    except InvalidOperation:  # pragma: no cover - the regex admits only plain decimals
        raise InvalidSpec(FIELD, f"memory {quote(value)} is invalid") from None


_BINARY_UNITS = (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def format_memory(size: int) -> str:
    """A byte count for people: the largest binary unit that divides it (``2GiB``,
    ``512MiB``), else bytes. ``parse_memory(format_memory(n)) == n``."""
    for suffix, unit in _BINARY_UNITS:
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def format_size(size: int) -> str:
    """Bytes as every surface shows a preset's memory: in the unit it was
    configured in where it is a whole number of one (``57 GB``, ``2 GiB``,
    ``512 MB``), else one decimal in the largest binary unit (``1.9 GiB``:
    presets derived from a machine's memory)."""
    for unit, name in ((2**40, "TiB"), (10**12, "TB"), (2**30, "GiB"), (10**9, "GB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    for unit, name in ((2**20, "MiB"), (10**6, "MB")):
        if 0 < size < 2**30 and size % unit == 0:
            return f"{size // unit} {name}"
    value, label = float(size), "B"
    for name in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, label = value / 1024, name
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {label}"


def format_preset_size(preset: Preset) -> str:
    """A preset's size, the one way every surface writes it (issue 12): the
    sidebar and JobForm (as the API's ``display``), the hub's spawn form,
    ``config show``: ``1 CPU, 1.9 GiB, no GPU``; ``8 CPU, 64 GB, 1 x nvidia-a100,
    preemptible``."""
    gpu = "no GPU"
    if preset.gpu:
        gpu = f"{preset.gpu} x {preset.gpu_model}" if preset.gpu_model else f"{preset.gpu} GPU"
    parts = [f"{preset.cpu:g} CPU", format_size(preset.memory), gpu]
    if preset.preemptible:
        parts.append("preemptible")
    return ", ".join(parts)


def preset_label(preset: Preset) -> str:
    """A preset in one line, as the Lab sidebar, the widgets and the hub's
    spawn form show it: ``gpu-small — 7 CPU, 53.1 GiB, 1 x V100, preemptible``."""
    return f"{preset.name} — {format_preset_size(preset)}"


_KEYS = frozenset(
    {
        "name",
        "cpu",
        "memory",
        "gpu",
        "gpu_model",
        "preemptible",
        "node_selector",
        "tolerations",
        "priority_class",
    }
)
_TOLERATION_KEYS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")


def _fail(name: str, problem: str) -> InvalidSpec:
    return InvalidSpec(FIELD, f"preset {quote(name)}: {problem}")


def _cpu(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, "cpu must be a number")
    if not math.isfinite(value) or value < MIN_CPU:
        raise _fail(name, f"cpu {value} is too small: at least {MIN_CPU}")
    return float(value)


def _optional_str(name: str, key: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise _fail(name, f"{key} must be a non-empty string or null")
    return value


def _node_selector(name: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _fail(name, "node_selector must be an object of string labels")
    return dict(value)


def _toleration(name: str, value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(name, "each toleration must be an object")
    unknown = sorted(set(value) - _TOLERATION_KEYS)
    if unknown:
        raise _fail(name, f"unknown toleration field {quote(unknown[0])}")
    if value.get("operator", "Equal") not in ("Equal", "Exists"):
        raise _fail(name, "a toleration's operator must be Equal or Exists")
    if value.get("effect", "") not in _EFFECTS:
        raise _fail(name, "a toleration's effect must be NoSchedule, PreferNoSchedule or NoExecute")
    for key in ("key", "value"):
        if not isinstance(value.get(key, ""), str):
            raise _fail(name, f"a toleration's {key} must be a string")
    seconds = value.get("tolerationSeconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise _fail(name, "a toleration's tolerationSeconds must be a whole number")
    return dict(value)


def _tolerations(name: str, value: object) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise _fail(name, "tolerations must be a list of objects")
    return tuple(_toleration(name, item) for item in value)


def parse_preset(name: str, data: Mapping[str, Any]) -> Preset:
    """Validate a preset definition (as in ``c.NeuroJobs.presets``).

    ``data`` holds ``cpu`` (>= 0.1) and ``memory`` (>= 16 MiB, see
    :func:`parse_memory`), optionally ``gpu`` (int >= 0), ``gpu_model``,
    ``preemptible`` (bool), ``node_selector`` (str -> str), ``tolerations``
    (Kubernetes toleration objects) and ``priority_class``. A ``name`` key, if
    present, must equal ``name`` (so ``Preset.to_json()`` output parses back).

    Raises:
        InvalidSpec: ``preset``, naming the preset and the rule.
    """
    parse_preset_name(name)
    if not isinstance(data, Mapping):
        raise _fail(name, "the definition must be an object")
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        raise _fail(name, f"unknown field {quote(unknown[0])}")
    if data.get("name", name) != name:
        raise _fail(name, f"the definition names another preset, {data['name']!r}")
    for key in ("cpu", "memory"):
        if key not in data:
            raise _fail(name, f"{key} is required")
    memory = parse_memory(data["memory"])
    if memory < MIN_MEMORY:
        raise _fail(name, f"memory {memory} bytes is too small: at least 16MiB")
    gpu = data.get("gpu", 0)
    if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
        raise _fail(name, "gpu must be a whole number, 0 or more")
    preemptible = data.get("preemptible", False)
    if not isinstance(preemptible, bool):
        raise _fail(name, "preemptible must be true or false")
    return Preset(
        name=name,
        cpu=_cpu(name, data["cpu"]),
        memory=memory,
        gpu=gpu,
        gpu_model=_optional_str(name, "gpu_model", data.get("gpu_model")),
        preemptible=preemptible,
        node_selector=_node_selector(name, data.get("node_selector")),
        tolerations=_tolerations(name, data.get("tolerations")),
        priority_class=_optional_str(name, "priority_class", data.get("priority_class")),
    )


def local_presets(cpus: int, memory: int, gpu_models: Sequence[str]) -> list[Preset]:
    """Presets sized from this machine (``cpus`` cores, ``memory`` bytes, one
    model name per GPU), the default preset first:

    - ``cpu-small``: 1 CPU, 2 GiB (each capped to the machine);
    - ``cpu-medium``: half the CPUs and half the memory, only with 4+ CPUs;
    - ``cpu-large``: all CPUs and 80% of the memory (the rest is left to
      Jupyter and the system), only when larger than ``cpu-small``;
    - ``gpu-small``: 1 GPU with its share of CPUs (at least 1) and of 80% memory;
    - ``gpu-large``: all GPUs, all CPUs and 80% memory, only with 2+ GPUs.

    The GPU model is set when every GPU is the same model, else left None.
    """
    cpus = max(1, cpus)
    memory = max(MIN_MEMORY, memory)
    usable = max(MIN_MEMORY, memory * 4 // 5)
    small = Preset("cpu-small", cpu=1.0, memory=min(2 * _GiB, memory))
    presets = [small]
    if cpus >= 4:
        presets.append(
            Preset("cpu-medium", cpu=float(cpus // 2), memory=max(MIN_MEMORY, memory // 2))
        )
    if cpus > 1 or usable > small.memory:
        presets.append(Preset("cpu-large", cpu=float(cpus), memory=usable))
    gpus = len(gpu_models)
    if gpus:
        model = gpu_models[0] if len(set(gpu_models)) == 1 else None
        presets.append(
            Preset(
                "gpu-small",
                cpu=float(max(1, cpus // gpus)),
                memory=max(MIN_MEMORY, usable // gpus),
                gpu=1,
                gpu_model=model,
            )
        )
        if gpus > 1:
            presets.append(
                Preset("gpu-large", cpu=float(cpus), memory=usable, gpu=gpus, gpu_model=model)
            )
    return presets


def find_preset(presets: Sequence[Preset], name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        InvalidSpec: ``preset``: ``unknown preset 'x': available: a, b``.
    """
    for preset in presets:
        if preset.name == name:
            return preset
    available = ", ".join(preset.name for preset in presets) or "none"
    raise InvalidSpec(FIELD, f"unknown preset {quote(str(name))}: available: {available}")
