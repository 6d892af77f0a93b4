"""Hypothesis strategies for the job-domain rules (valid inputs, built directly)."""

from __future__ import annotations

import shlex

from hypothesis import strategies as st

from neuro_jupyter.jobs.model import HttpSpec, JobSpec, RestartPolicy, Volume

_WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)

job_names = st.builds(
    lambda head, words: (head + "".join("-" + w for w in words))[:40].rstrip("-"),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8),
    st.lists(_WORD, max_size=5),
).filter(lambda name: not name.startswith("job-"))

users = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"), exclude_characters="/"),
    min_size=1,
    max_size=20,
).filter(lambda u: not any(c.isspace() for c in u))

durations = st.integers(min_value=0, max_value=100 * 365 * 86400)

_SEGMENT = st.text("abcdefghijklmnopqrstuvwxyzABC_-. 0123456789", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join)
# A storage path is a URI path, percent-escaped where it must be: any of these may be in it.
_SOURCE_SEGMENT = st.text("abcXYZ_-. 09%#?:+@\u00e9\u4e2d", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
_SOURCE = st.lists(_SOURCE_SEGMENT, min_size=1, max_size=4).map("/".join)

volumes = st.builds(
    Volume,
    source=st.one_of(st.just(""), _SOURCE, _SOURCE.map(lambda p: "/" + p)),
    mount=_PATH.map(lambda p: "/" + p),
    read_only=st.booleans(),
)

# Neu.ro's names: printable ASCII but '=' and space ('#' first would be an env-file comment).
env_names = st.from_regex(r"[!-\"$-<>-~][!-<>-~]{0,10}", fullmatch=True)
env_values = st.text(st.characters(codec="utf-8", exclude_characters="\0\r\n"), max_size=20)
envs = st.dictionaries(env_names, env_values, max_size=5)

tags = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(lambda t: not any(c.isspace() for c in t))

images = st.sampled_from(
    [
        "python:3.12-slim",
        "ubuntu",
        "ghcr.io/org/app:v1",
        "localhost:5000/a/b__c",
        "image:my-model:v2",
        "image:/project/name:latest",
        "quay.io/x/y@sha256:" + "0" * 64,
    ]
)

_ARGV = st.lists(st.text(st.characters(exclude_characters="\0", codec="utf-8")), max_size=4)


def _unique_mounts(vols: list[Volume]) -> tuple[Volume, ...]:
    return tuple({v.mount: v for v in vols}.values())


job_specs = st.builds(
    JobSpec,
    image=images,
    command=_ARGV.map(shlex.join),
    preset=st.sampled_from(["cpu-small", "gpu-large", "a1"]),
    name=st.none() | job_names,
    tags=st.lists(tags, max_size=16).map(lambda ts: tuple(sorted(set(ts)))),
    description=st.text(st.characters(exclude_characters="\0", codec="utf-8"), max_size=50),
    volumes=st.lists(volumes, max_size=3).map(_unique_mounts),
    env=envs,
    # Surrounding whitespace is stripped by the parser (issue 13): none to round-trip.
    workdir=st.none() | _PATH.map(lambda p: ("/" + p).rstrip()),
    http=st.none() | st.builds(HttpSpec, st.integers(1, 65535), st.booleans(), st.booleans()),
    life_span=durations,
    restart=st.sampled_from(list(RestartPolicy)),
    share=st.lists(users, max_size=3, unique=True).map(tuple),
)
