"""``jobs.parse`` gathers every rule; the guide's examples; junk never crashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuro_jupyter.jobs as jobs
from neuro_jupyter.jobs import parse
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import Volume


def test_exported_members() -> None:
    assert sorted(parse.__all__) == sorted(
        [
            "MAX_DURATION", "SPEC_FIELDS", "SPEC_KEYS", "JobRef", "SpecField", "command_argv",
            "format_duration", "format_env_file", "format_life_span", "format_volume",
            "is_valid_env_name", "is_valid_image", "is_valid_job_id", "is_valid_job_name",
            "localize_time",
            "parse_command", "parse_description", "parse_duration", "parse_env",
            "parse_env_file", "parse_env_item", "parse_grantee", "parse_http", "parse_http_port",
            "parse_image", "parse_job_name", "parse_job_ref", "parse_job_spec", "parse_life_span",
            "parse_permission", "parse_port", "parse_restart", "parse_share", "parse_since",
            "parse_tag", "parse_tags", "parse_user", "parse_volume", "parse_volume_data",
            "parse_volumes", "parse_workdir", "spec_fields",
        ]
    )  # fmt: skip
    for name in parse.__all__:
        assert getattr(parse, name) is not None
    for name in jobs.__all__:
        assert getattr(jobs, name) is not None


def test_guide_examples() -> None:
    assert parse.parse_volume("storage:nero-assistant/ModelCode/:/code:rw") == Volume(
        "nero-assistant/ModelCode", "/code", False
    )
    assert parse.parse_volume("storage::/srv:rw") == Volume("", "/srv", False)
    assert parse.parse_life_span("2d3h20min") == 2 * 86400 + 3 * 3600 + 20 * 60
    assert parse.parse_life_span("1d") == 86400
    assert parse.parse_life_span("2h") == 7200
    assert parse.parse_env_item("VAR=VAL", {}) == ("VAR", "VAL")


_RULES: list[tuple[Callable[[Any], object], tuple[str, ...]]] = [
    (parse.parse_job_name, ("name",)),
    (parse.parse_job_ref, ("ref",)),
    (lambda v: parse.parse_user(v, "share"), ("share",)),
    (lambda v: parse.parse_duration(v, "life_span"), ("life_span",)),
    (parse.parse_life_span, ("life_span",)),
    (parse.parse_volume, ("volumes",)),
    (parse.parse_volume_data, ("volumes",)),
    (parse.parse_volumes, ("volumes",)),
    (lambda v: parse.parse_env_item(v, {}), ("env",)),
    (parse.parse_env, ("env",)),
    (parse.parse_tag, ("tags",)),
    (parse.parse_tags, ("tags",)),
    (parse.parse_image, ("image",)),
    (parse.parse_port, ("http.port",)),
    (parse.parse_workdir, ("workdir",)),
    (parse.parse_restart, ("restart",)),
    (parse.parse_command, ("command",)),
    (parse.parse_description, ("description",)),
    (parse.parse_permission, ("level",)),
    (parse.parse_share, ("share",)),
    (parse.parse_http, ("http", "http.port", "http.auth", "http.keep_prefix")),
]

_JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.parametrize(("rule", "fields"), _RULES)
@given(value=_JUNK)
def test_junk_parses_or_is_invalid(
    rule: Callable[[Any], object], fields: tuple[str, ...], value: Any
) -> None:
    try:
        rule(value)
    except InvalidSpec as error:
        assert error.field in fields
        assert error.rule and "Traceback" not in error.rule


@given(st.text(max_size=30))
def test_junk_env_files(text: str) -> None:
    try:
        parse.parse_env_file(text)
    except InvalidSpec as error:
        assert error.field == "env"


def test_long_input_is_cut_in_messages() -> None:
    with pytest.raises(InvalidSpec) as info:
        parse.parse_job_name("X" * 10_000)
    assert len(str(info.value)) < 300
