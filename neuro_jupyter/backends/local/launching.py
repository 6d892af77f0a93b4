"""What a local job needs before its runner starts: checks, environment, its folder."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...jobs.addresses import JobAddresses
from ...jobs.errors import InvalidSpec
from ...jobs.model import Job, JobSpec
from ...jobs.words import split_words
from ..environment import job_environment
from .jobdir import JobDir, Launch
from .sandbox import Bind, SandboxError, bwrap_argv, under_mount
from .storage import resolve_source

__all__ = ["JobFiles", "binds_for", "check_spec", "job_files"]

NO_BWRAP = "volumes need bubblewrap (bwrap), which is not installed: apt-get install bubblewrap"
NO_COMMAND = "the local runtime runs a command on this machine; give one after the image"


def binds_for(storage_root: Path, owner: str, spec: JobSpec, create: bool) -> list[Bind]:
    """The spec's volumes as host folders; ``create`` makes missing ones.

    Raises:
        InvalidSpec: a source outside the owner's storage.
    """
    binds = []
    for volume in spec.volumes:
        source = resolve_source(storage_root, owner, volume)
        if create:
            source.mkdir(parents=True, exist_ok=True)
        binds.append(Bind(str(source), volume.mount, volume.read_only))
    return binds


def check_spec(owner: str, spec: JobSpec, *, storage_root: Path, workdir: str, bwrap: str) -> None:
    """Refuse a command, volumes or working dir this machine cannot provide.

    ``workdir`` is the spec's or the default; ``bwrap`` is empty without bubblewrap.

    Raises:
        InvalidSpec: on ``command``, ``volumes`` or ``workdir``.
    """
    try:
        argv = split_words(spec.command)
    except ValueError as e:
        raise InvalidSpec("command", f"the command cannot be split into words: {e}") from None
    if not argv:
        raise InvalidSpec("command", NO_COMMAND)
    if not os.path.isabs(workdir):
        raise InvalidSpec("workdir", f"working directory {workdir!r} must be absolute")
    binds: list[Bind] = []
    if spec.volumes:
        if not bwrap:
            raise InvalidSpec("volumes", NO_BWRAP)
        binds = binds_for(storage_root, owner, spec, create=False)
        try:
            bwrap_argv(bwrap, binds, workdir)  # a dry run: mount paths it refuses
        except SandboxError as e:
            raise InvalidSpec("volumes", str(e)) from None
    if not under_mount(workdir, binds) and not os.path.isdir(workdir):
        raise InvalidSpec("workdir", f"working directory {workdir} does not exist here")


@dataclass(frozen=True)
class JobFiles:
    """What the server writes in a job's folder for its runner (see :mod:`.jobdir`)."""

    spec: dict[str, Any]
    """``spec.json``: id, owner, spec and preset, for people and tools."""
    env: dict[str, str]
    """``env``: the command's environment (mode 0600)."""
    launch: Launch
    """``launch.json``: how the runner runs the command (and ``exec`` after it)."""
    secret_env: dict[str, str] = field(default_factory=dict)
    """More environment for the command only: sent with the start request,
    never written (not in ``env``, so ``exec`` does not get it either)."""

    def write(self, job_dir: JobDir) -> None:
        """Write the three files into ``job_dir`` (which exists)."""
        job_dir.write_json("spec.json", self.spec)
        job_dir.write_json("env", self.env, mode=0o600)
        job_dir.write_json("launch.json", asdict(self.launch))

    def order(self) -> dict[str, Any]:
        """What a runner needs of them, to send in its start request (no reads)."""
        return {"launch": asdict(self.launch), "env": {**self.env, **self.secret_env}}


def job_files(
    job: Job,
    gpus: Sequence[int],
    *,
    storage_root: Path,
    workdir: str,
    bwrap: str,
    grace: float,
    addresses: JobAddresses | None = None,
    secret_env: Mapping[str, str] | None = None,
) -> JobFiles:
    """The files of ``job``'s folder; its volumes' missing sources are created."""
    binds = binds_for(storage_root, job.owner, job.spec, create=True)
    sandbox = bwrap_argv(bwrap, binds, workdir) if binds else []
    data = {"id": job.id, "owner": job.owner, "spec": job.spec.to_json()}
    launch = Launch(
        argv=[*sandbox, *split_words(job.spec.command)],
        cwd="/" if sandbox else workdir,  # in a sandbox, bwrap's --chdir sets it
        memory=job.preset.memory,
        restart=job.spec.restart.value,
        grace=grace,
        sandbox=sandbox,
    )
    env = job_environment(job, gpus, os.environ, addresses)
    return JobFiles({**data, "preset": job.preset.to_json()}, env, launch, dict(secret_env or {}))
