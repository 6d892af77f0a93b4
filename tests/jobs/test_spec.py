"""The REST job spec and the published field descriptions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import HttpSpec, JobSpec, RestartPolicy, Volume
from neuro_jupyter.jobs.spec import SPEC_KEYS, parse_job_spec
from neuro_jupyter.jobs.spec_fields import SPEC_FIELDS, spec_fields

from .strategies import job_specs


def parse(data: Any, environ: dict[str, str] | None = None) -> JobSpec:
    return parse_job_spec(
        data, default_preset="cpu-small", default_life_span=86400, environ=environ
    )


def test_only_image_is_required() -> None:
    assert parse({"image": "ubuntu"}) == JobSpec(image="ubuntu")
    spec = parse_job_spec({"image": "ubuntu"}, default_preset="gpu-small", default_life_span=0)
    assert (spec.preset, spec.life_span) == ("gpu-small", 0)


def test_full_spec() -> None:
    spec = parse(
        {
            "image": " python:3.12 ",
            "command": ["python", "-m", "http.server", "8080"],
            "preset": "cpu-large",
            "name": "web",
            "tags": ["b", "a", "b"],
            "description": "a server",
            "volumes": ["storage:nero-assistant/ModelCode/:/code:rw", {"mount": "/srv"}],
            "env": ["A=1", "HOME"],
            "workdir": "/code",
            "http": {"port": 8080, "auth": False},
            "life_span": "2d3h20min",
            "restart": "on-failure",
            "share": ["bob", "group:ml", "carol", "bob", "group:ml"],
        },
        environ={"HOME": "/home/me"},
    )
    assert spec == JobSpec(
        image="python:3.12",
        command="python -m http.server 8080",
        preset="cpu-large",
        name="web",
        tags=("a", "b"),
        description="a server",
        volumes=(Volume("nero-assistant/ModelCode", "/code"), Volume("", "/srv")),
        env={"A": "1", "HOME": "/home/me"},
        workdir="/code",
        http=HttpSpec(8080, auth=False),
        life_span=2 * 86400 + 3 * 3600 + 20 * 60,
        restart=RestartPolicy.ON_FAILURE,
        share=("bob", "group:ml", "carol"),
    )


def test_nulls_mean_defaults() -> None:
    data = {key: None for key in SPEC_KEYS} | {"image": "ubuntu"}
    assert parse(data) == JobSpec(image="ubuntu")


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "image", "image is required"),
        ({"image": None}, "image", "image is required"),
        ({"image": "Ubuntu"}, "image", "lowercase"),
        ({"image": "u", "foo": 1}, "foo", "unknown field 'foo'"),
        ({"image": "u", "command": 3}, "command", "string or a list of strings"),
        ({"image": "u", "command": "a 'b"}, "command", "cannot be split"),
        ({"image": "u", "preset": "Big"}, "preset", "preset name 'Big' is invalid"),
        ({"image": "u", "preset": 1}, "preset", "must be a string"),
        ({"image": "u", "name": "Abc"}, "name", "job name 'Abc' is invalid"),
        ({"image": "u", "name": 5}, "name", "must be a string"),
        ({"image": "u", "tags": "a"}, "tags", "must be a list"),
        ({"image": "u", "tags": ["a b"]}, "tags", "no whitespace"),
        ({"image": "u", "description": "x" * 4097}, "description", "at most 4096"),
        ({"image": "u", "description": 1}, "description", "must be a string"),
        ({"image": "u", "volumes": ["storage:a:b"]}, "volumes", "must be absolute"),
        ({"image": "u", "volumes": "storage:a:/b"}, "volumes", "must be a list"),
        ({"image": "u", "env": {"A": 1}}, "env", "must be a string"),
        ({"image": "u", "env": ["HOME"]}, "env", "has no value"),
        ({"image": "u", "env": "A=1"}, "env", "must be an object"),
        ({"image": "u", "workdir": "rel"}, "workdir", "must be absolute"),
        ({"image": "u", "http": 8080}, "http", "must be an object"),
        ({"image": "u", "http": {}}, "http.port", "http.port is required"),
        ({"image": "u", "http": {"port": -1}}, "http.port", "from 1 to 65535"),
        ({"image": "u", "http": {"port": 0, "auth": False}}, "http.auth", "port 0 means none"),
        ({"image": "u", "http": {"port": 0, "auth": 1}}, "http.auth", "port 0 means none"),
        (
            {"image": "u", "http": {"port": "0", "keep_prefix": True}},
            "http.keep_prefix",
            "needs an HTTP port",
        ),
        ({"image": "u", "http": {"port": 70000}}, "http.port", "from 1 to 65535"),
        ({"image": "u", "http": {"port": True}}, "http.port", "not bool"),
        ({"image": "u", "http": {"port": 80, "auth": "no"}}, "http.auth", "true or false"),
        ({"image": "u", "http": {"port": 80, "keep_prefix": 1}}, "http.keep_prefix", "true or"),
        ({"image": "u", "http": {"port": 80, "tls": True}}, "http", "unknown field 'http.tls'"),
        ({"image": "u", "life_span": "1h1d"}, "life_span", "in that order"),
        ({"image": "u", "life_span": -5}, "life_span", "cannot be negative"),
        ({"image": "u", "life_span": [1]}, "life_span", "not list"),
        ({"image": "u", "restart": "maybe"}, "restart", "use never, on-failure, always"),
        ({"image": "u", "share": "bob"}, "share", "must be a list"),
        ({"image": "u", "share": ["a b"]}, "share", "whitespace"),
        ({"image": "u", "share": ["group:"]}, "share", "group 'group:' is invalid: it is empty"),
    ],
)
def test_rejections(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse(data)
    assert info.value.field == field
    assert words in str(info.value), str(info.value)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(
    "http",
    [{"port": 0}, {"port": "0"}, {"port": " 0 ", "auth": True, "keep_prefix": False}, None],
)
def test_http_port_0_is_no_http_port(http: object) -> None:
    # As Neu.ro's --http-port 0 (issue 13); a form's defaults beside it are no error.
    spec = parse_job_spec({"image": "u", "http": http}, default_preset="p", default_life_span=0)
    assert spec.http is None


@pytest.mark.parametrize("data", [None, [], "ubuntu", 3])
def test_spec_must_be_an_object(data: object) -> None:
    with pytest.raises(InvalidSpec, match="must be a JSON object") as info:
        parse(data)
    assert info.value.field == "spec"


@given(job_specs)
def test_spec_round_trip(spec: JobSpec) -> None:
    data = json.loads(json.dumps(spec.to_json()))
    assert parse(data) == spec
    assert parse_job_spec(data, default_preset="other", default_life_span=1) == spec


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from([*SPEC_KEYS, "junk"]), _JSON, max_size=6))
def test_junk_specs(data: dict[str, Any]) -> None:
    try:
        parse(data, environ={})
    except InvalidSpec as error:
        assert error.field.split(".")[0] in (*SPEC_KEYS, "junk")


@given(job_specs, st.sampled_from(SPEC_KEYS), _JSON)
def test_one_bad_field(spec: JobSpec, key: str, value: Any) -> None:
    data = spec.to_json() | {key: value}
    try:
        parse(data, environ={})
    except InvalidSpec as error:
        assert error.field.split(".")[0] == key


def test_spec_fields_describe_every_key() -> None:
    fields = spec_fields()
    assert [field["name"] for field in fields] == list(SPEC_KEYS)
    assert json.loads(json.dumps(fields)) == fields
    by_name = {field["name"]: field for field in fields}
    assert by_name["image"]["required"] is True
    assert sum(field["required"] for field in fields) == 1
    assert by_name["restart"]["choices"] == ["never", "on-failure", "always"]
    assert [f["name"] for f in by_name["http"]["fields"]] == ["port", "auth", "keep_prefix"]
    assert all(field["help"] for field in fields)
    assert "choices" not in by_name["preset"]


def test_spec_fields_take_server_defaults() -> None:
    fields = {
        field["name"]: field
        for field in spec_fields(
            default_preset="gpu-small",
            default_life_span=3 * 3600,
            presets=["cpu-small", "gpu-small"],
        )
    }
    assert fields["preset"]["default"] == "gpu-small"
    assert fields["preset"]["choices"] == ["cpu-small", "gpu-small"]
    assert fields["life_span"]["default"] == "3h"
    assert SPEC_FIELDS[2].default == "cpu-small"  # the module constant is untouched


def test_spec_field_defaults_parse() -> None:
    data = {f["name"]: f["default"] for f in spec_fields()} | {"image": "ubuntu"}
    assert parse(data) == JobSpec(image="ubuntu")
