"""Kubernetes' syntax of object names, label keys and label values. Pure.

One place for it: object names in the configuration, pod names, node labels
and taints of the conventions, and the labels the backend writes all follow it.
"""

from __future__ import annotations

import re

__all__ = ["is_dns_label", "is_dns_subdomain", "is_valid_label_key", "is_valid_label_value"]

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_LABEL_VALUE = re.compile(f"(?:{_NAME})?")


def is_dns_label(name: str) -> bool:
    """Whether ``name`` is a DNS-1123 label (namespaces, pods): ``[a-z0-9-]``, 63 at most."""
    return len(name) <= 63 and re.fullmatch(_DNS_LABEL, name) is not None


def is_dns_subdomain(name: str) -> bool:
    """Whether ``name`` is a DNS-1123 subdomain (most objects): dotted labels, 253 at most."""
    return len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name) is not None


def is_valid_label_value(value: str) -> bool:
    """Whether ``value`` may be a label value (at most 63 characters, may be empty)."""
    return bool(_LABEL_VALUE.fullmatch(value))


def is_valid_label_key(key: str) -> bool:
    """Whether ``key`` may be a label or taint key: ``[DNS-subdomain/]name``."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return False
    return bool(name) and bool(re.fullmatch(_NAME, name))
