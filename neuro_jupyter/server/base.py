"""What every neuro handler shares: the service, the caller, JSON, errors.

Domain errors become HTTP answers here and only here (dask-gateway's
``api_handler``, jupyter_server's ``APIHandler.write_error``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from http.client import responses
from typing import Any

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from ..jobs.errors import (
    Conflict,
    Forbidden,
    InvalidSpec,
    LoginRequired,
    NeuroError,
    NotFound,
    Unavailable,
)
from ..jobs.limits import body_needs_check, check_json_input
from ..jobs.model import Job, Preset, Share, StatusItem
from ..jobs.parse import format_volume
from ..jobs.presets import format_preset_size
from ..service import JobService

__all__ = [
    "FieldError",
    "NeuroAPIHandler",
    "ServiceMixin",
    "format_time",
    "job_to_json",
    "preset_to_json",
    "share_to_json",
    "write_json_error",
]

SERVICE_KEY = "neuro_jobs_service"
SINGLE_USER_KEY = "neuro_single_user"
API_PATH_KEY = "neuro_api_path"
"""Setting: the API's root relative to ``base_url`` (``neuro/api/v1`` by default)."""
KEEPALIVE_KEY = "neuro_stream_keepalive"
KEEPALIVE_SECONDS = 15.0
"""Seconds between ``: ping`` comments of an idle event stream, unless configured."""

_STATUS_OF: tuple[tuple[type[NeuroError], int], ...] = (
    (InvalidSpec, 400),
    (NotFound, 404),
    (Conflict, 409),
    (LoginRequired, 401),
    (Forbidden, 403),
    (Unavailable, 503),
)


JSON_TYPE = "application/json"


class FieldError(web.HTTPError):
    """An HTTP-level refusal of the request itself (not of a domain rule),
    answered as ``{"error", "field"}`` like every other error."""

    def __init__(self, status_code: int, field: str, message: str) -> None:
        super().__init__(status_code)
        self.field = field
        self.message = message


def status_of(error: NeuroError) -> int:
    """The HTTP status a domain error answers with."""
    for kind, status in _STATUS_OF:
        if isinstance(error, kind):
            return status
    return 500


def format_time(at: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, as the API shows every time."""
    if at is None:
        return None
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _history_item(item: StatusItem) -> dict[str, Any]:
    return {
        "status": item.status.value,
        "reason": item.reason,
        "description": item.description,
        "at": format_time(item.at),
        "exit_code": item.exit_code,
    }


def job_to_json(job: Job, http_url: str | None) -> dict[str, Any]:
    """A job record as the API shows it: the spec's fields plus where it stands.

    ``http_url`` is where its HTTP port is published (``JobService.http_url``).
    """
    spec = job.spec.to_json()
    spec["volumes"] = [format_volume(v) for v in job.spec.volumes]
    return {
        **spec,
        "id": job.id,
        "owner": job.owner,
        "cluster": job.cluster,
        "status": job.status.value,
        "reason": job.reason,
        "status_description": job.description,
        "exit_code": job.exit_code,
        "created_at": format_time(job.created_at),
        "started_at": format_time(job.started_at),
        "finished_at": format_time(job.finished_at),
        "run_time_seconds": round(job.run_time(), 3),
        "http_url": http_url,
        "resources": preset_to_json(job.preset),
        "runtime": job.runtime,
        "history": [_history_item(i) for i in job.history],
    }


def preset_to_json(preset: Preset) -> dict[str, Any]:
    """A preset as the API shows it, with its size in words (``display``)."""
    return {**preset.to_json(), "display": format_preset_size(preset)}


def share_to_json(share: Share) -> dict[str, Any]:
    """A grant as the API shows it."""
    return {
        "owner": share.owner,
        "target": share.target,
        "user": share.user,
        "level": share.level.name.lower(),
    }


def user_name_of(handler: Any) -> str:
    """The user an authenticated request acts as.

    On a single-user server the login names nobody (jupyter_server makes up an
    anonymous user per request), so the configured local user owns everything.
    """
    single = handler.settings.get(SINGLE_USER_KEY)
    if single:
        return str(single)
    user = handler.current_user
    return str(getattr(user, "username", None) or user)


def write_json_error(
    handler: web.RequestHandler, status_code: int, exc: BaseException | None
) -> None:
    """Finish ``handler``'s answer as ``{"error", "field"}`` (every route's errors,
    exec's included); a domain error sets its own status."""
    field = None
    if isinstance(exc, NeuroError):
        status_code = status_of(exc)
        handler.set_status(status_code)
        message = exc.message
        field = getattr(exc, "field", None)
    elif isinstance(exc, FieldError):
        message, field = exc.message, exc.field
    elif isinstance(exc, web.HTTPError):
        message = exc.log_message % exc.args if exc.log_message else ""
        message = message or exc.reason or responses.get(status_code, "error")
    else:
        message = responses.get(status_code, "error")
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"error": message, "field": field}))


class ServiceMixin:
    """Gives a handler the one JobService of this server (API, exec, proxy)."""

    settings: dict[str, Any]

    @property
    def service(self) -> JobService:
        """The one JobService of this server."""
        service: JobService = self.settings[SERVICE_KEY]
        return service


class NeuroAPIHandler(ServiceMixin, APIHandler):
    """Base of the REST handlers: authenticated JSON over :class:`JobService`."""

    auth_resource = "neuro"
    _gone: asyncio.Event | None = None

    @property
    def gone(self) -> asyncio.Event:
        """Set when the client closes the connection (a stream's cue to stop)."""
        if self._gone is None:
            self._gone = asyncio.Event()
        return self._gone

    @property
    def user_name(self) -> str:
        """The Jupyter user making the request: the owner of what it creates."""
        return user_name_of(self)

    @property
    def api_root(self) -> str:
        """The API's root path, ``/`` at the end: ``{base_url}neuro/api/v1/`` by default."""
        return f"{self.base_url}{self.settings.get(API_PATH_KEY, 'neuro/api/v1')}/"

    @property
    def public_root(self) -> str:
        """``scheme://host{base_url}`` as the visitor reached us."""
        return f"{self.request.protocol}://{self.request.host}{self.base_url}"

    async def prepare(self) -> None:  # type: ignore[override]
        """Start the service on first use (tests run without the start hook)."""
        await super().prepare()
        await self.service.ready()

    def on_connection_close(self) -> None:
        """The client went away: streams stop at once (see :attr:`gone`)."""
        super().on_connection_close()
        self.gone.set()

    def json_body(self) -> Mapping[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``).

        Raises:
            FieldError: 415 for a body that is not ``application/json``, 413
                for one over ``c.NeuroJobs.max_body_size``.
            InvalidSpec: the body is not a JSON object, is nested too deep, or
                holds a string no registry or process can take (issue 14).
        """
        body = self.request.body
        if not body:
            return {}
        limits = self.service.limits
        media_type = self.request.headers.get("Content-Type", "").partition(";")[0]
        if media_type.strip().lower() != JSON_TYPE:
            raise FieldError(
                415, "Content-Type", f"send the body as {JSON_TYPE} (Content-Type header)"
            )
        if len(body) > limits.body_size:
            raise FieldError(
                413, "body", f"the request body has {len(body)} bytes: at most {limits.body_size}"
            )
        try:
            data = json.loads(body)
        except RecursionError:
            raise InvalidSpec(
                "body", f"the request body is nested deeper than {limits.json_depth} levels"
            ) from None
        except ValueError as exc:
            raise InvalidSpec("body", f"the request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidSpec("body", "the request body must be a JSON object")
        if body_needs_check(body, limits.json_depth):
            check_json_input(data, limits.json_depth)
        return data

    def write_json(self, data: Any, status: int = 200) -> None:
        """Answer with ``data`` as JSON."""
        self.write_json_text(json.dumps(data), status)

    def write_json_text(self, text: str | bytes, status: int = 200) -> None:
        """Answer with ``text``, already JSON (bytes: already UTF-8)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(text)

    def job_json(self, job: Job) -> dict[str, Any]:
        """A job record as the API shows it, its URL as this visitor reaches the server."""
        return job_to_json(job, self.service.http_url(job, self.public_root))

    def write_job(self, job: Job, status: int = 200) -> None:
        """Answer with one job record."""
        self.write_json(self.job_json(job), status)

    def finish_empty(self) -> None:
        """Answer 204 with no body (APIHandler.finish would call it JSON)."""
        self.update_api_activity()
        self.set_status(204)
        self.clear_header("Content-Type")
        JupyterHandler.finish(self)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error", "field"}``; domain errors get their own status."""
        write_json_error(self, status_code, kwargs.get("exc_info", (None, None, None))[1])

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """User mistakes are answered, not logged as server faults."""
        if isinstance(value, (NeuroError, FieldError)):
            self.log.debug("%s %s: %s", self.request.method, self.request.uri, value)
            return
        super().log_exception(typ, value, tb)
