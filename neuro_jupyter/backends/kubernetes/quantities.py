"""CPU and memory as Kubernetes quantities, both ways. Pure.

Writing: a preset's cores and bytes become requests and limits
(:func:`format_cpu`, :func:`format_memory`). Reading: what the API hands back,
e.g. metrics.k8s.io usage (``"12345678n"`` cores, ``"123456Ki"`` bytes), becomes
numbers again (:func:`parse_quantity`, :func:`parse_cpu`, :func:`parse_memory`).

The grammar is Kubernetes' own (``resource.Quantity``): a signed decimal
number and one suffix, binary (``Ki`` ... ``Ei``), decimal (``n``, ``u``,
``m``, none, ``k``, ``M``, ``G``, ``T``, ``P``, ``E``) or an exponent
(``e3``, ``E-2``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["format_cpu", "format_memory", "parse_cpu", "parse_memory", "parse_quantity"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))"
)


def parse_quantity(text: str) -> Decimal:
    """The exact value of a quantity: ``"1500m"`` -> 1.5, ``"1Ki"`` -> 1024.

    Raises:
        ValueError: naming the text, when it is not a quantity.
    """
    match = _QUANTITY.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 1Gi, 123456Ki)")
    number = Decimal(match["number"])
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["exponent"] is not None:
        return number.scaleb(int(match["exponent"]))
    return number * _DECIMAL[match["decimal"]]


def parse_cpu(text: str) -> float:
    """Cores in a CPU quantity: ``"250m"`` -> 0.25, ``"12345678n"`` -> 0.012345678.

    Raises:
        ValueError: not a quantity.
    """
    return float(parse_quantity(text))


def parse_memory(text: str) -> int:
    """Bytes in a memory quantity, rounded up as Kubernetes does: ``"123456Ki"`` -> 126418944.

    Raises:
        ValueError: not a quantity.
    """
    return math.ceil(parse_quantity(text))


def format_cpu(cores: float) -> str:
    """Cores as a quantity in whole millicores: 2 -> ``"2"``, 0.5 -> ``"500m"``.

    Anything above zero is at least ``"1m"`` (the API's precision).

    Raises:
        ValueError: a negative or non-finite number of cores.
    """
    if not math.isfinite(cores) or cores < 0:
        raise ValueError(f"CPU cores must be a finite number >= 0, not {cores!r}")
    millis = round(cores * 1000)
    if millis == 0 and cores > 0:
        millis = 1
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(size: int) -> str:
    """Bytes as the shortest exact quantity: 2**30 -> ``"1Gi"``, 16 * 10**9 -> ``"16G"``.

    Raises:
        ValueError: a negative size.
    """
    if size < 0:
        raise ValueError(f"memory must be >= 0 bytes, not {size!r}")
    best = str(size)
    if size == 0:
        return best
    candidates = [*_BINARY.items(), *((s, int(f)) for s, f in _DECIMAL.items() if f > 1)]
    for suffix, factor in candidates:
        if size % factor == 0:
            text = f"{size // factor}{suffix}"
            if len(text) < len(best):
                best = text
    return best
