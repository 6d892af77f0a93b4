"""Checks real requests and answers against the shipped OpenAPI document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from tornado.httpclient import HTTPResponse
from werkzeug.datastructures import Headers, ImmutableMultiDict

from neuro_jupyter.server.api import openapi_document

API_ROOT = "/neuro/api/v1"


def _bytes(body: str | bytes | None) -> bytes | None:
    if isinstance(body, str):
        return body.encode()
    return body or None


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


class OpenAPIChecker:
    """Validates each exchange the tests make; a mismatch fails the test."""

    def __init__(self) -> None:
        document = json.loads(json.dumps(openapi_document()))
        self.openapi = OpenAPI.from_dict(document)
        self.checked = 0

    def check(self, method: str, url: str, response: HTTPResponse, kwargs: dict[str, Any]) -> None:
        """Validate one exchange (streams and WebSocket upgrades are skipped)."""
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            return
        path = urlsplit(url).path
        path = path[path.index(API_ROOT) :]
        query = kwargs.get("params") or {}
        pairs = [(k, v) for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs])]
        request = _Request(
            host_url="http://localhost",
            path=path,
            method=method.lower(),
            body=_bytes(kwargs.get("body")),
            content_type="application/json",
            parameters=RequestParameters(query=ImmutableMultiDict(pairs)),
        )
        answer = _Response(
            status_code=response.code,
            content_type=content_type,
            headers=Headers(list(response.headers.get_all())),
            data=response.body,
        )
        self.openapi.validate_response(request, answer)
        self.checked += 1
