"""The API's small grammars: label and field selectors, quantities, booleans, times.

Each parser raises :class:`BadRequest` with the API server's own wording, so a
client sees the same 400 it would get from a cluster.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "BadRequest",
    "FieldSelector",
    "LabelSelector",
    "format_cpu",
    "format_memory",
    "micro_time",
    "now_rfc3339",
    "parse_bool",
    "parse_quantity",
    "rfc3339",
    "rfc3339_nano",
]


class BadRequest(ValueError):
    """A query the API server would answer with 400 BadRequest."""


def parse_bool(value: str, name: str) -> bool:
    """Parse a query flag as Go's ``strconv.ParseBool`` (``true``, ``True``, ``1``...)."""
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise BadRequest(f'strconv.ParseBool: parsing "{value}": invalid syntax ({name})')


def rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch as the API's Time: second precision, UTC."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339() -> str:
    """Now, as the API's Time."""
    return rfc3339(time.time())


def micro_time(seconds: float) -> str:
    """``seconds`` as the API's MicroTime (events' ``eventTime``)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(ns: int) -> str:
    """Nanoseconds since the epoch as the kubelet's log timestamps (RFC 3339, 9 digits)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(value: object) -> Decimal:
    """A resource quantity (``"500m"``, ``"1Gi"``, ``2``, ``"1e9"``) as a number.

    Raises:
        ValueError: ``value`` is no quantity (the caller turns it into a 422).
    """
    if isinstance(value, bool):
        raise ValueError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression: {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation as error:
        raise ValueError(f"quantities must match the regular expression: {value!r}") from error


def format_cpu(cores: float) -> str:
    """CPU usage as metrics-server writes it: nanocores, ``"123456789n"``."""
    return f"{max(0, round(cores * 1e9))}n"


def format_memory(nbytes: int) -> str:
    """Memory usage as metrics-server writes it: kibibytes, ``"123456Ki"``."""
    return f"{max(0, nbytes) // 1024}Ki"


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET = re.compile(r"^(!?)\s*([^\s!=()]+)\s+(in|notin)\s+\((.*)\)$")
_EQ = re.compile(r"^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$")


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i].strip())
            start = i + 1
    terms.append(text[start:].strip())
    return [term for term in terms if term]


class LabelSelector:
    """``labelSelector``: ``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``.

    Raises:
        BadRequest: a term that does not parse.
    """

    def __init__(self, text: str | None) -> None:
        self.requirements = [self._parse(term) for term in _split_terms(text or "")]

    @staticmethod
    def _parse(term: str) -> _Requirement:
        error = BadRequest(f"unable to parse requirement: {term!r}")
        if match := _SET.match(term):
            if match.group(1):
                raise error
            values = tuple(v.strip() for v in match.group(4).split(",") if v.strip())
            requirement = _Requirement(match.group(2), match.group(3), values)
        elif match := _EQ.match(term):
            op = "!=" if match.group(2) == "!=" else "="
            requirement = _Requirement(match.group(1), op, (match.group(3),))
        elif term.startswith("!"):
            requirement = _Requirement(term[1:].strip(), "!")
        else:
            requirement = _Requirement(term, "exists")
        if not _LABEL_KEY.match(requirement.key) or not all(
            _LABEL_VALUE.match(v) and len(v) <= 63 for v in requirement.values
        ):
            raise error
        return requirement

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        return all(r.matches(labels or {}) for r in self.requirements)


def _path(*keys: str) -> Callable[[Mapping[str, Any]], str]:
    def get(obj: Mapping[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)

    return get


# The fields each resource may be selected on (the API server's field label conversions).
FIELDS: dict[str, dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "pods": {
        "metadata.name": _path("metadata", "name"),
        "metadata.namespace": _path("metadata", "namespace"),
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "events": {
        "metadata.name": _path("metadata", "name"),
        "metadata.namespace": _path("metadata", "namespace"),
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "nodes": {
        "metadata.name": _path("metadata", "name"),
        "spec.unschedulable": _path("spec", "unschedulable"),
    },
}


class FieldSelector:
    """``fieldSelector``: ``field=value``, ``field==value``, ``field!=value``, comma-joined."""

    def __init__(self, text: str | None, resource: str) -> None:
        self.terms: list[tuple[Callable[[Mapping[str, Any]], str], bool, str]] = []
        fields = FIELDS.get(resource, {})
        for term in _split_terms(text or ""):
            match = re.match(r"^([^!=]+)(==|=|!=)(.*)$", term)
            if not match:
                raise BadRequest(f"invalid selector: '{text}'; can't understand '{term}'")
            field, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
            if field not in fields:
                raise BadRequest(f'field label not supported: "{field}"')
            self.terms.append((fields[field], op != "!=", value))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` is selected."""
        return all((get(obj) == value) == equal for get, equal, value in self.terms)
