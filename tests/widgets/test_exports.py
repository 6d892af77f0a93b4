"""The widgets' public names are pinned, and each is documented."""

from __future__ import annotations

import neuro_jupyter.widgets as widgets


def test_widgets_exports() -> None:
    assert widgets.__all__ == ["JobForm", "JobList", "JobMonitor"]
    for name in widgets.__all__:
        assert getattr(widgets, name).__doc__, name
