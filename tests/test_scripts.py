"""``scripts/``: an ordinary user learns every missing system package at once (issue 13)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def a_user_path(tmp_path: Path, *commands: str) -> str:
    """A PATH with only ``commands`` and an ``id`` that says we are not root."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in commands:
        found = shutil.which(command)
        assert found is not None, command
        (bin_dir / command).symlink_to(found)
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    return str(bin_dir)


def test_the_test_command_names_every_missing_package_in_one_sudo_line(tmp_path: Path) -> None:
    path = a_user_path(tmp_path, "bash", "dirname")
    # A fresh checkout: no .venv yet (this one's would hide python3-venv).
    scripts = tmp_path / "checkout" / "scripts"
    scripts.mkdir(parents=True)
    for name in ("test", "need.sh"):
        shutil.copy(ROOT / "scripts" / name, scripts / name)
    done = subprocess.run(
        [shutil.which("bash") or "bash", str(scripts / "test")],
        env={"PATH": path, "HOME": str(tmp_path), "NEURO_SBIN": str(tmp_path / "sbin")},
        capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    packages = "bubblewrap nodejs npm chromium nginx-light python3-venv"
    assert lines[0] == f"missing system packages: {packages}"
    assert lines[1] == f"install them first: sudo apt-get install {packages}"
    # The Quick start names the same packages, in one line.
    assert f"sudo apt-get install {packages}" in (ROOT / "README.md").read_text()


def test_only_what_is_missing_is_named(tmp_path: Path) -> None:
    path = a_user_path(tmp_path, "bash")
    script = (
        f"source {ROOT / 'scripts' / 'need.sh'}; need_command bash bash-pkg; "
        "need_command no-such-a pkg-a; need_check false pkg-b pkg-c; need_check true pkg-d; "
        "install_needed; echo not reached"
    )
    done = subprocess.run(
        ["bash", "-c", script], env={"PATH": path}, capture_output=True, text=True, check=False,
        executable=shutil.which("bash"),
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[0] == "missing system packages: pkg-a pkg-b pkg-c"


def test_nothing_missing_is_no_message(tmp_path: Path) -> None:
    path = a_user_path(tmp_path, "bash")
    script = f"source {ROOT / 'scripts' / 'need.sh'}; need_command bash bash-pkg; install_needed"
    done = subprocess.run(
        ["bash", "-c", script + "; echo ok"], env={"PATH": path}, capture_output=True, text=True,
        check=False, executable=shutil.which("bash"),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
