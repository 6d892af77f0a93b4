"""Kubernetes' syntax of names, label keys and label values (kubernetes/names.py)."""

from __future__ import annotations

import pytest

from neuro_jupyter.backends.kubernetes.names import (
    is_dns_label,
    is_dns_subdomain,
    is_valid_label_key,
    is_valid_label_value,
)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("jobs", True),
        ("job-0f8e", True),
        ("x" * 63, True),
        ("x" * 64, False),
        ("Jobs", False),
        ("a.b", False),
        ("-a", False),
        ("a-", False),
        ("", False),
    ],
)
def test_dns_labels(name: str, valid: bool) -> None:
    assert is_dns_label(name) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("team-storage", True),
        ("example.com", True),
        ("x" * 63 + "." + "x" * 63 + "." + "x" * 63 + "." + "x" * 61, True),  # 253 characters
        ("x" * 63 + "." + "x" * 63 + "." + "x" * 63 + "." + "x" * 62, False),
        ("a..b", False),
        ("a.-b", False),
        ("my_claim", False),
        ("", False),
    ],
)
def test_dns_subdomains(name: str, valid: bool) -> None:
    assert is_dns_subdomain(name) is valid


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("nvidia.com/gpu", True),
        ("sku", True),
        ("a/b/c", False),
        ("Example.com/x", False),
        ("example.com/", False),
        ("x" * 63, True),
        ("x" * 64, False),
        ("-x", False),
    ],
)
def test_label_keys(key: str, valid: bool) -> None:
    assert is_valid_label_key(key) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        ("SPOT", True),
        ("a.b_c-d", True),
        ("-a", False),
        ("a b", False),
        ("x" * 64, False),
    ],
)
def test_label_values(value: str, valid: bool) -> None:
    assert is_valid_label_value(value) is valid
