"""CPU and memory quantities, both ways (kubernetes/quantities.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.backends.kubernetes.quantities import (
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal(0)),
        ("2", Decimal(2)),
        ("1500m", Decimal("1.5")),
        ("12345678n", Decimal("0.012345678")),
        ("250u", Decimal("0.00025")),
        ("1k", Decimal(1000)),
        ("16G", Decimal(16 * 10**9)),
        ("1E", Decimal(10**18)),
        ("1Ki", Decimal(1024)),
        ("123456Ki", Decimal(123456 * 1024)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1e3", Decimal(1000)),
        ("5E-2", Decimal("0.05")),
        ("+.5", Decimal("0.5")),
        ("-1", Decimal(-1)),
        ("1.", Decimal(1)),
        (" 2Mi ", Decimal(2 * 2**20)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "m", "1.5.2", "1KiB", "1 Gi", "0x10", "1e", "Gi", "1ki"])
def test_parse_quantity_refuses_what_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


def test_metrics_usage() -> None:
    # metrics.k8s.io PodMetrics usage as metrics-server reports it
    assert parse_cpu("12345678n") == pytest.approx(0.012345678)
    assert parse_cpu("250m") == 0.25
    assert parse_memory("123456Ki") == 126418944
    assert parse_memory("1.5") == 2  # bytes round up, as Kubernetes' Value()


@pytest.mark.parametrize(
    ("cores", "text"),
    [(0, "0"), (1, "1"), (2.0, "2"), (0.5, "500m"), (0.1, "100m"), (1.25, "1250m"), (1e-4, "1m")],
)
def test_format_cpu(cores: float, text: str) -> None:
    assert format_cpu(cores) == text


@pytest.mark.parametrize("cores", [-1, float("nan"), float("inf")])
def test_format_cpu_refuses(cores: float) -> None:
    with pytest.raises(ValueError, match="CPU cores"):
        format_cpu(cores)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0"),
        (1000, "1k"),
        (1024, "1Ki"),
        (2**30, "1Gi"),
        (16 * 2**30, "16Gi"),
        (16 * 10**9, "16G"),  # not "15625000Ki": the shortest exact form
        (3 * 2**29, "1536Mi"),
        (12345, "12345"),
    ],
)
def test_format_memory(size: int, text: str) -> None:
    assert format_memory(size) == text


def test_format_memory_refuses_negative() -> None:
    with pytest.raises(ValueError, match="memory"):
        format_memory(-1)


@given(st.integers(min_value=0, max_value=2**63))
def test_memory_round_trip(size: int) -> None:
    assert parse_memory(format_memory(size)) == size


@given(st.integers(min_value=0, max_value=10**6))
def test_cpu_round_trip(millis: int) -> None:
    assert parse_cpu(format_cpu(millis / 1000)) == pytest.approx(millis / 1000)
