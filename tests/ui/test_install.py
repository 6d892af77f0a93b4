"""``pip install -e .`` installs the prebuilt sidebar where JupyterLab finds it, enabled."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.ui.lab import LABEXTENSION, ROOT


def test_jupyter_lists_the_labextension_enabled_and_python_managed() -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert re.search(r"neuro-jupyter v0\.1\.0 enabled\s+OK \(python, neuro-jupyter\)", listing), (
        listing
    )


def test_the_installed_labextension_is_the_one_built_from_this_tree() -> None:
    built = json.loads((ROOT / "neuro_jupyter" / "labextension" / "package.json").read_text())
    installed = json.loads((LABEXTENSION / "package.json").read_text())
    assert installed["jupyterlab"]["_build"] == built["jupyterlab"]["_build"], (
        "the installed sidebar is older than neuro_jupyter/labextension: pip install -e . again"
    )
    assert (LABEXTENSION / "install.json").exists()
    assert installed["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
