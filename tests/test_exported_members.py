"""The package's public names are pinned: changing them is a deliberate act."""

from __future__ import annotations

import neuro_jupyter
from neuro_jupyter import magics


def test_package_exports() -> None:
    assert neuro_jupyter.__all__ == ["__version__", "load_ipython_extension"]
    assert neuro_jupyter.__version__
    points = neuro_jupyter._jupyter_server_extension_points()
    assert [p["module"] for p in points] == ["neuro_jupyter"]


def test_magics_exports() -> None:
    assert set(magics.__all__) == {
        "NeuroMagics",
        "NotebookOutput",
        "ShownJob",
        "ShownJobs",
        "compact_carriage_returns",
        "load_ipython_extension",
    }
    for name in magics.__all__:
        assert getattr(magics, name).__doc__, name
