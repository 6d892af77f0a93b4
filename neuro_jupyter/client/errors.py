"""Errors of the HTTP client, and the one place API answers become exceptions.

The API answers errors as ``{"error": "...", "field": "..."}``; they become
the domain's own exceptions (:mod:`neuro_jupyter.jobs.errors`), so a client
catches the same ``InvalidSpec`` the server raised. Anything that is not such
an answer (an HTML page, a refused connection) becomes one sentence that says
what to do, never a dump of the body.
"""

from __future__ import annotations

import json
from http.client import responses
from typing import Any

from ..jobs.errors import Conflict, Forbidden, InvalidSpec, NeuroError, NotFound

__all__ = ["ApiError", "ClientConfigError", "error_for", "not_answering", "server_root"]

API_SUFFIX = "neuro/api/v1/"


class ApiError(NeuroError):
    """The API answered an error that has no domain meaning (5xx, 401, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientConfigError(NeuroError):
    """The API cannot be reached as configured; the message says what to do."""


def server_root(api_url: str) -> str:
    """The Jupyter server's address (``…{base_url}``) for an API root."""
    return api_url[: -len(API_SUFFIX)] if api_url.endswith(API_SUFFIX) else api_url


def not_answering(api_url: str) -> ClientConfigError:
    """The error for a refused connection."""
    return ClientConfigError(
        f"no Jupyter server answers at {server_root(api_url)}: start Jupyter, "
        "or set NEURO_API_URL to the neuro/api/v1/ address of a running one"
    )


def _error_body(content_type: str, body: bytes) -> dict[str, Any] | None:
    if "json" not in content_type.lower():
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_for(status: int, content_type: str, body: bytes, api_url: str) -> NeuroError:
    """The exception for an error answer (status >= 400) of the API at ``api_url``."""
    data = _error_body(content_type, body)
    root = server_root(api_url)
    if data is None:
        if status == 404:
            return ClientConfigError(
                f"the neuro_jupyter server extension is not enabled on {root}: run "
                "`jupyter server extension enable neuro_jupyter` and restart Jupyter"
            )
        reason = responses.get(status, "error")
        return ApiError(status, f"the Jupyter server at {root} answered HTTP {status} {reason}")
    message = str(data.get("error") or data.get("message") or responses.get(status, "error"))
    if status == 400:
        return InvalidSpec(str(data.get("field") or "request"), message)
    if status == 403:
        if message == "Forbidden" and not data.get("field"):
            message = (
                f"the Jupyter server at {root} refused the token: "
                "set NEURO_API_TOKEN to that server's token"
            )
        return Forbidden(message)
    if status == 404:
        return NotFound(message)
    if status == 409:
        return Conflict(message)
    return ApiError(status, message)
