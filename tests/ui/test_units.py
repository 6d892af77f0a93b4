"""The sidebar's TypeScript units (jest), run as part of this suite so CI fails with them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from neuro_jupyter.jobs.spec_fields import spec_fields
from tests.ui.lab import ROOT

LABEXTENSION_SRC = ROOT / "labextension"


def test_the_units_spec_fixture_is_what_the_server_describes() -> None:
    fixture = json.loads((LABEXTENSION_SRC / "src" / "__tests__" / "spec.json").read_text())
    served = spec_fields(
        default_preset="cpu-small", default_life_span=86400, presets=["cpu-small", "gpu-small"]
    )
    assert fixture == served, "regenerate labextension/src/__tests__/spec.json"


@pytest.mark.timeout(300)
def test_jest_units_pass() -> None:
    npm = shutil.which("npm")
    if npm is None or not (LABEXTENSION_SRC / "node_modules").is_dir():
        pytest.fail("no npm or no labextension/node_modules: pip install -e . runs npm install")
    result = subprocess.run(
        [npm, "test", "--silent", "--", "--ci"],
        cwd=LABEXTENSION_SRC,
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "failed" not in output.split("Tests:")[-1].splitlines()[0], output
