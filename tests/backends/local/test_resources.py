"""Resource arithmetic of the local backend's scheduler."""

from __future__ import annotations

from neuro_jupyter.backends.local.resources import Offer, free_offer, shortfall, size_text, too_big
from neuro_jupyter.jobs.model import Preset

GiB = 2**30
MACHINE = Offer(4.0, 16 * GiB, (0, 1))
SMALL = Preset("small", 1, 2 * GiB)
GPU = Preset("gpu", 1, 2 * GiB, gpu=1)


def test_free_subtracts_presets_and_held_gpus() -> None:
    free = free_offer(MACHINE, [(SMALL, ()), (GPU, (1,))])
    assert free == Offer(2.0, 12 * GiB, (0,))


def test_shortfall_names_what_is_missing() -> None:
    assert shortfall(SMALL, MACHINE) is None
    full = free_offer(MACHINE, [(Preset("big", 4, GiB), ())])
    assert shortfall(SMALL, full) == "waiting for 1 CPU, 2.0 GiB: 0 CPU, 15.0 GiB, 2 GPU free"
    no_gpu = free_offer(MACHINE, [(GPU, (0,)), (GPU, (1,))])
    assert (
        shortfall(GPU, no_gpu) == "waiting for 1 CPU, 2.0 GiB, 1 GPU: 2 CPU, 12.0 GiB, 0 GPU free"
    )


def test_fractional_cpus_fit_exactly() -> None:
    tenth = Preset("tenth", 0.1, 1)
    free = free_offer(Offer(0.3, GiB, ()), [(tenth, ()), (Preset("x", 0.1, 1), ())])
    assert shortfall(tenth, free) is None


def test_too_big() -> None:
    assert too_big(SMALL, MACHINE) is None
    assert too_big(Preset("huge", 8, GiB, gpu=4), MACHINE) == (
        "preset huge needs 8 CPU, 1.0 GiB, 4 GPU; this machine offers 4 CPU, 16.0 GiB, 2 GPU"
    )
    # A machine without GPUs says so when a GPU is asked for.
    assert too_big(Preset("gpu", 1, GiB, gpu=1), Offer(2, 16 * GiB, ())) == (
        "preset gpu needs 1 CPU, 1.0 GiB, 1 GPU; this machine offers 2 CPU, 16.0 GiB, no GPU"
    )
    assert size_text(0.5, GiB // 2, 0) == "0.5 CPU, 0.5 GiB"
