"""Volumes through bubblewrap: mount paths, read-only, escapes, nothing made on the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neuro_jupyter.backends.local import LocalBackend
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import JobSpec, JobStatus, Volume

from ..utils import SMALL, Recorder, make_job
from .conftest import make_backend
from .test_backend import output


async def test_volumes_appear_at_their_mount_paths(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    code = Path(dirs["storage_root"], "alice", "project")
    code.mkdir(parents=True)
    (code / "train.py").write_text("print('training')\n")
    volumes = (
        Volume("project", "/code", read_only=True),
        Volume("results", "/var/neuro-results-test"),
    )
    script = "python train.py && echo saved > /var/neuro-results-test/out.txt && pwd"
    job = make_job(f"sh -c '{script}'", volumes=volumes, workdir="/code")
    backend.check(job.owner, job.spec, job.preset)
    await backend.start(job)
    end = await recorder.end(job.id)
    assert end.status is JobStatus.SUCCEEDED, await output(backend, recorder.apply(job))
    assert await output(backend, recorder.apply(job)) == b"training\n/code\n"
    assert Path(dirs["storage_root"], "alice", "results", "out.txt").read_text() == "saved\n"
    # bwrap made its mount points inside the sandbox only
    assert not os.path.exists("/code")
    assert not os.path.exists("/var/neuro-results-test")


async def test_a_read_only_volume_refuses_writes(backend: LocalBackend, recorder: Recorder) -> None:
    job = make_job("touch /data/x", volumes=(Volume("", "/data", read_only=True),))
    await backend.start(job)
    end = await recorder.end(job.id)
    assert end.status is JobStatus.FAILED
    assert b"Read-only file system" in await output(backend, recorder.apply(job))


async def test_a_host_folder_under_a_mount_stays_visible(
    backend: LocalBackend, recorder: Recorder, dirs: dict[str, str]
) -> None:
    # The volume lands inside the jobs' tmp folder: its siblings are still there.
    mount = os.path.join(dirs["default_workdir"], "mnt")
    job = make_job(f"ls {dirs['default_workdir']}", volumes=(Volume("", mount),))
    Path(dirs["default_workdir"], "sibling").mkdir()
    await backend.start(job)
    assert (await recorder.end(job.id)).status is JobStatus.SUCCEEDED
    assert await output(backend, recorder.apply(job)) == b"mnt\nsibling\n"
    assert not os.path.exists(mount)


def spec_with(volume: Volume) -> JobSpec:
    return JobSpec("img", "echo", volumes=(volume,), workdir="/")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("../bob", "must not contain '..'"),
        ("a/../../bob", "must not contain '..'"),
        ("/bob/data", "another user's storage (bob)"),
        ("link", "leads outside your storage"),
    ],
)
def test_sources_outside_the_owners_storage_are_refused(
    dirs: dict[str, str], source: str, message: str
) -> None:
    root = Path(dirs["storage_root"])
    (root / "alice").mkdir()
    (root / "bob").mkdir()
    (root / "alice" / "link").symlink_to(root / "bob")
    with pytest.raises(InvalidSpec) as e:
        make_backend(dirs).check("alice", spec_with(Volume(source, "/mnt")), SMALL)
    assert e.value.field == "volumes"
    assert message in e.value.message


def test_own_absolute_sources_are_fine(dirs: dict[str, str]) -> None:
    make_backend(dirs).check("alice", spec_with(Volume("/alice/data", "/mnt")), SMALL)


# A top-level host entry that is a symbolic link (/bin on a merged-/usr system).
LINKED = next(e for e in sorted(os.listdir("/")) if os.path.islink(f"/{e}"))


@pytest.mark.parametrize(
    ("mount", "message"),
    [("/proc/x", "under /proc"), ("/", "at /"), (f"/{LINKED}/x", "symbolic link")],
)
def test_impossible_mount_paths_are_refused(dirs: dict[str, str], mount: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as e:
        make_backend(dirs).check("alice", spec_with(Volume("", mount)), SMALL)
    assert message in e.value.message


def test_volumes_need_bubblewrap(dirs: dict[str, str]) -> None:
    with pytest.raises(InvalidSpec) as e:
        make_backend(dirs, use_bwrap=False).check("alice", spec_with(Volume("", "/mnt")), SMALL)
    assert e.value.field == "volumes"
    assert "apt-get install bubblewrap" in e.value.message


def test_a_workdir_under_a_mount_need_not_exist_on_the_host(dirs: dict[str, str]) -> None:
    spec = JobSpec("img", "echo", volumes=(Volume("", "/code"),), workdir="/code/src")
    make_backend(dirs).check("alice", spec, SMALL)
    with pytest.raises(InvalidSpec) as e:
        spec = JobSpec("img", "echo", volumes=(Volume("", "/code"),), workdir="/elsewhere")
        make_backend(dirs).check("alice", spec, SMALL)
    assert e.value.field == "workdir"
