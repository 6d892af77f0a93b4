"""``client/models.py``: rendering depends on the models, never the other way round."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import neuro_jupyter
from tests.test_client_config import RECORD

PACKAGE = Path(neuro_jupyter.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions, absolute."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            prefix = ".".join(base) if node.level else ""
            module = ".".join(filter(None, [prefix, node.module or ""]))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_client_never_imports_rendering() -> None:
    # Issue 13: client/models.py and render/ imported each other (a circle of nine).
    for path in sorted((PACKAGE / "client").glob("*.py")):
        rendering = {m for m in imported_modules(path) if m.startswith("neuro_jupyter.render")}
        assert not rendering, (path.name, rendering)


def test_rendering_imports_the_models_not_the_client_package() -> None:
    for path in sorted((PACKAGE / "render").glob("*.py")):
        client = {m for m in imported_modules(path) if m.startswith("neuro_jupyter.client")}
        assert client <= {"neuro_jupyter.client.models"} | {
            f"neuro_jupyter.client.models.{name}" for name in ("Job", "Sample", "register_renderer")
        }, (path.name, client)


def test_a_job_fetches_its_renderer_by_name_on_first_need() -> None:
    script = """
import json, sys
from neuro_jupyter.client.models import Job
assert "neuro_jupyter.render" not in sys.modules
job = Job.from_json(json.loads(sys.argv[1]))
assert "train" in job._repr_html_()
assert "neuro_jupyter.render" in sys.modules
"""
    argv = [sys.executable, "-c", script, json.dumps(RECORD)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
