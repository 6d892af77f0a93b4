"""Storage volumes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Volume
from neuro_jupyter.jobs.volumes import (
    format_volume,
    parse_volume,
    parse_volume_data,
    parse_volumes,
)

from .strategies import volumes


@pytest.mark.parametrize(
    ("text", "volume"),
    [
        ("storage:nero-assistant/ModelCode/:/code:rw", Volume("nero-assistant/ModelCode", "/code")),
        ("storage::/srv:rw", Volume("", "/srv")),
        ("storage::/srv", Volume("", "/srv")),
        ("storage:data:/data:ro", Volume("data", "/data", True)),
        ("storage:/alice/data:/data", Volume("/alice/data", "/data")),
        ("storage:/alice:/data", Volume("/alice", "/data")),
        ("storage:a//b/./c/:/mnt/x/", Volume("a/b/c", "/mnt/x")),
        ("storage:./data:/data", Volume("data", "/data")),
        ("storage:my data:/my data", Volume("my data", "/my data")),
        ("  storage:x:/y  ", Volume("x", "/y")),
        ("\tstorage:x:/y:ro\n", Volume("x", "/y", True)),
        # Percent-escapes are decoded, as Neu.ro does (issue 13); the mount is literal.
        ("storage:my%20dir:/d", Volume("my dir", "/d")),
        ("storage:a%23b:/d:ro", Volume("a#b", "/d", True)),
        ("storage:a%3Fb/c%3Ad:/d", Volume("a?b/c:d", "/d")),
        ("storage:caf%C3%A9:/d", Volume("caf\u00e9", "/d")),
        ("storage:/alice/x%2520y:/d", Volume("/alice/x%20y", "/d")),
        ("storage:100%done:/d", Volume("100%done", "/d")),  # no escape: kept
        ("storage:a/%2E/b:/d", Volume("a/b", "/d")),
        ("storage:x:/my%20dir", Volume("x", "/my%20dir")),
    ],
)
def test_volumes(text: str, volume: Volume) -> None:
    assert parse_volume(text) == volume


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("data:/data", "use storage:PATH:/MOUNT"),
        ("storage:data", "use storage:PATH:/MOUNT"),
        ("storage:a:/b:rw:x", "use storage:PATH:/MOUNT"),
        ("disk:d:/data", "only storage volumes"),
        ("secret:k:/etc/k", "only storage volumes"),
        ("storage:data:/data:rx", "mode 'rx' is unknown: use rw or ro"),
        ("storage:data:data", "must be absolute"),
        ("storage:data:", "must be absolute"),
        ("storage:data:/a/../b", "mount path contains '..'"),
        ("storage:data:/", "cannot be '/'"),
        ("storage:data:/./", "cannot be '/'"),
        ("storage:../x:/data", "storage path contains '..'"),
        ("storage:a/../../x:/data", "storage path contains '..'"),
        ("storage:a?b:/data", "contains '?': write it as %3F"),
        ("storage:a#b:/data", "contains '#': write it as %23"),
        # Decoded first, then checked: no '..' and no way out of the user's root.
        ("storage:%2E%2E:/data", "storage path contains '..'"),
        ("storage:a/%2e%2E/%2E%2e/x:/data", "storage path contains '..'"),
        ("storage:/alice/%2E%2E/bob:/data", "storage path contains '..'"),
        ("storage:%2Fetc:/data", "escaped '/' (%2F)"),
        ("storage:a%2fb:/data", "escaped '/' (%2F)"),
        ("storage:a%00b:/data", "control character"),
        ("storage:a%0Ab:/data", "control character"),
        ("storage:%FF:/data", "not UTF-8"),
        ("storage:/:/data", "names no user"),
        ("storage:a\x00:/data", "control character"),
        ("storage:a:/d\x07", "control character"),
        ("storage://cluster/alice/data:/data", "write storage:/alice/data"),
        ("storage://cluster/alice/data", "full storage URIs are not supported"),
        ("storage://cluster:/data", "write storage:/OWNER/PATH"),
    ],
)
def test_bad_volumes(text: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_volume(text)
    assert info.value.field == "volumes"
    assert words in str(info.value)
    assert str(info.value).startswith(f"volume {text!r} is invalid: ")


def test_volume_wrong_type() -> None:
    with pytest.raises(InvalidSpec, match="must be a string, not int"):
        parse_volume(1)


@pytest.mark.parametrize(
    ("volume", "text"),
    [
        (Volume("", "/srv"), "storage::/srv:rw"),
        (Volume("a/b", "/code", True), "storage:a/b:/code:ro"),
        (Volume("/alice/x", "/x"), "storage:/alice/x:/x:rw"),
        (Volume("my dir/a#b?c:d%e", "/x"), "storage:my%20dir/a%23b%3Fc%3Ad%25e:/x:rw"),
    ],
)
def test_format_volume(volume: Volume, text: str) -> None:
    assert format_volume(volume) == text


@given(volumes)
def test_volume_round_trip(volume: Volume) -> None:
    assert parse_volume(format_volume(volume)) == volume
    assert (
        parse_volume_data(
            {"source": volume.source, "mount": volume.mount, "read_only": volume.read_only}
        )
        == volume
    )


def test_objects_carry_the_decoded_path_as_it_is() -> None:
    volume = parse_volume("storage:a%23b%2520:/d")
    assert volume == Volume("a#b%20", "/d")
    assert parse_volume_data({"source": "a#b%20", "mount": "/d"}) == volume
    with pytest.raises(InvalidSpec, match=r"contains '\.\.'"):
        parse_volume_data({"source": "a/../../x", "mount": "/d"})
    with pytest.raises(InvalidSpec, match="full storage URIs"):
        parse_volume_data({"source": "//cluster/a", "mount": "/d"})


@given(st.text(max_size=40))
def test_junk_volumes(text: str) -> None:
    for candidate in (text, f"storage:{text}", f"storage::{text}"):
        try:
            volume = parse_volume(candidate)
        except InvalidSpec as error:
            assert error.field == "volumes"
        else:
            assert parse_volume(format_volume(volume)) == volume


def test_volume_objects() -> None:
    assert parse_volume_data({"mount": "/m"}) == Volume("", "/m")
    assert parse_volume_data({"source": "a/", "mount": "/m/", "read_only": True}) == Volume(
        "a", "/m", True
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"source": "a", "mount": "/m", "mode": "ro"}, "unknown volume field 'mode'"),
        ({"source": "a"}, "string 'mount'"),
        ({"source": 1, "mount": "/m"}, "string 'source'"),
        ({"source": "a", "mount": "/m", "read_only": "yes"}, "true or false"),
        ({"source": "a", "mount": "m"}, "must be absolute"),
        (5, "string or an object, not int"),
    ],
)
def test_bad_volume_objects(data: object, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_volume_data(data)
    assert info.value.field == "volumes"
    assert words in str(info.value)


def test_volume_lists() -> None:
    assert parse_volumes(["storage::/a", {"source": "x", "mount": "/b"}]) == (
        Volume("", "/a"),
        Volume("x", "/b"),
    )
    assert parse_volumes([]) == ()


def test_mounts_must_be_unique() -> None:
    with pytest.raises(InvalidSpec, match="'/a' is used twice: mount paths must be unique"):
        parse_volumes(["storage:x:/a", "storage:y:/a/:ro"])


@pytest.mark.parametrize("value", ["storage::/a", {"mount": "/a"}, 3, None])
def test_volume_list_type(value: object) -> None:
    with pytest.raises(InvalidSpec, match="volumes must be a list") as info:
        parse_volumes(value)
    assert info.value.field == "volumes"
