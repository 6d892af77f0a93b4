"""Image references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.images import is_valid_image, parse_image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "image",
    [
        "ubuntu",
        "python:3.12-slim",
        "library/python:3.12",
        "ghcr.io/org/app:v1",
        "my.registry:5000/team/app",
        "localhost/app",
        "localhost:5000/app:latest",
        "a__b/c.d/e-f/g--h",
        f"ubuntu@{DIGEST}",
        f"ghcr.io/org/app:v1@{DIGEST}",
        "ubuntu:" + "A" * 128,
        "ubuntu:_x.y-z",
        "image:my-model",
        "image:my-model:v2",
        "image:folder/my-model:v2",
        "image:/project/name:latest",
        "image://cluster/project/name:1",
        "image:latest:latest",
        "[::1]:5000/app",
    ],
)
def test_valid_images(image: str) -> None:
    assert parse_image(image) == image
    assert parse_image(f"  {image}\n") == image
    assert is_valid_image(image)


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("", "image is required"),
        ("   ", "image is required"),
        ("Ubuntu", "must be lowercase"),
        ("-rm", "cannot start with '-'"),
        ("image:-rm", "cannot start with '-'"),
        ("image:latest", "ambiguous"),
        ("ubuntu:", "tag '' is invalid"),
        ("ubuntu:.x", "tag '.x' is invalid"),
        ("ubuntu:" + "a" * 129, "up to 128"),
        ("ubuntu@sha256:abc", "64 lowercase hex"),
        ("ubuntu@md5:" + "a" * 64, "digest must be sha256"),
        ("a..b", "lowercase NAME"),
        ("a_-b", "lowercase NAME"),
        ("a/", "lowercase NAME"),
        ("/a", "lowercase NAME"),
        ("bad_host.:5000/app", "registry host 'bad_host.:5000' is invalid"),
        ("ubu ntu", "printable ASCII"),
        ("ubuntü", "printable ASCII"),
        ("ubuntu\x00", "printable ASCII"),
        ("image:", "image name is missing"),
        ("image::v1", "image name is missing"),
        ("image:/onlyname", "image:/PROJECT/NAME"),
        ("image://cluster", "image://CLUSTER/PROJECT/NAME"),
        # No project: Neu.ro says "no image name specified" (issue 13).
        ("image://cluster/name", "the project or the name is missing"),
        ("image://cluster/name:v1", "the project or the name is missing"),
        ("image://cluster/", "the project or the name is missing"),
        ("a" * 256, "longer than 255"),
        ("image:" + "a" * 256, "longer than 255"),
    ],
)
def test_invalid_images(image: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_image(image)
    assert info.value.field == "image"
    assert words in str(info.value)
    assert not is_valid_image(image)


def test_image_wrong_type() -> None:
    with pytest.raises(InvalidSpec, match="image must be a string, not list"):
        parse_image(["ubuntu"])


@given(st.text(max_size=40))
def test_junk_images(text: str) -> None:
    try:
        assert parse_image(text) == text.strip()
    except InvalidSpec as error:
        assert error.field == "image"


# Only the last component has separators: a first one with a '.' names a registry host.
_REFERENCES = r"([a-z0-9]+/){0,2}[a-z0-9]+([._-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,20})?"


@given(st.from_regex(_REFERENCES, fullmatch=True).filter(lambda r: len(r.split(":")[0]) <= 255))
def test_generated_references(image: str) -> None:
    # Names over 255 characters are refused on purpose (test_bad_images).
    assert parse_image(image) == image
