"""The OpenAPI document: shipped in the package, completed for each server.

``openapi.yaml`` is the contract the handlers keep (tests check every answer
against it). As served at ``openapi.json`` it also carries what only the
running server knows, so that a generated client or a fuzzer gets it right
(issue 14): where it answers (``servers``, from the request's own path, so
``base_url`` or a hub service's prefix are included), its preset names, the
fields its backend requires and its limits.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import yaml

from ..jobs.limits import Limits

__all__ = ["openapi_document", "served_openapi"]


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document shipped in the package (shared: do not change it)."""
    text = files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def served_openapi(
    server_url: str, presets: Sequence[str], required: Sequence[str], limits: Limits
) -> dict[str, Any]:
    """The document as this server serves it.

    Args:
        server_url: the API root as the client reached it (``/{base_url}neuro/api/v1``).
        presets: the preset names, the ``preset`` field's enum.
        required: job-spec fields the backend needs beyond ``image``.
        limits: this server's limits, written into the schemas.
    """
    document = copy.deepcopy(openapi_document())
    document["servers"] = [{"url": server_url}]
    spec = document["components"]["schemas"]["JobSpec"]
    spec["required"] = ["image", *(f for f in required if f != "image")]
    fields = spec["properties"]
    fields["preset"]["enum"] = [*presets, None]
    fields["tags"]["maxItems"] = limits.tags
    fields["volumes"]["maxItems"] = limits.volumes
    fields["share"]["maxItems"] = limits.shares
    fields["command"]["oneOf"][0]["maxLength"] = limits.command_length
    for form in fields["env"]["oneOf"]:
        form["maxProperties" if form["type"] == "object" else "maxItems"] = limits.env_entries
    if "command" in required:
        # Required, and not the image's default: the backend has none to run.
        fields["command"]["nullable"] = False
        fields["command"]["oneOf"][0]["minLength"] = 1
        fields["command"]["oneOf"][1]["minItems"] = 1
    return document
