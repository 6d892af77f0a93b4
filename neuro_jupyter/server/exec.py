"""``GET jobs/{ref}/exec`` (WebSocket): a command inside a running job.

Query: ``cmd`` (repeatable, the argv) or ``command`` (one shell-quoted
string), ``tty`` (true/false). Frames: binary both ways carry the command's
bytes (stdin in, output out); text frames from the client are JSON controls
(``{"resize": [rows, cols]}``, ``{"eof": true}``); the last text frame from the
server is ``{"exit_code": N}``, then the socket closes.

Authentication, permission (write) and the job being running are checked
*before* the handshake, so a refused caller never gets a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..backends.base import ExecSession
from ..jobs.errors import Conflict, InvalidSpec, NeuroError
from ..jobs.model import JobStatus
from ..jobs.query import parse_flag
from .base import FieldError, ServiceMixin, status_of, user_name_of, write_json_error

__all__ = ["JobExecHandler"]

log = logging.getLogger(__name__)


class JobExecHandler(ServiceMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """Relays a WebSocket to an exec session of the job's backend."""

    auth_resource = "neuro"
    session: ExecSession | None = None
    pump: asyncio.Task[None] | None = None

    @ws_authenticated
    async def get(self, ref: str) -> None:
        """Check everything, then upgrade."""
        user = self.current_user
        if not await ensure_async(self.authorizer.is_authorized(self, user, "execute", "neuro")):
            raise web.HTTPError(403)
        self._check_handshake()
        try:
            await self.service.ready()
            self.user_name = user_name_of(self)
            job = self.service.resolve(self.user_name, ref, "exec")
            if job.status is not JobStatus.RUNNING:
                raise Conflict(f"job {ref} is {job.status.value}, not running")
            self.command = self.get_arguments("cmd") or self.get_argument("command", "")
            self.tty = parse_flag(self.get_argument("tty", "false"), "tty")
            if not self.command:
                raise InvalidSpec("cmd", "give the command to run, e.g. ?cmd=ls&cmd=-l")
        except NeuroError as exc:
            self._refuse(exc)
            return
        await super().get(ref)

    def _check_handshake(self) -> None:
        """Tornado's own handshake checks, answered as JSON (tornado writes plain text).

        Raises:
            FieldError: 400 without the upgrade headers or key, 426 for another
                WebSocket version, 403 from an origin Jupyter refuses.
        """
        headers = self.request.headers
        if headers.get("Upgrade", "").lower() != "websocket":
            raise FieldError(400, "Upgrade", "exec is a WebSocket: send Upgrade: websocket")
        connection = {s.strip().lower() for s in headers.get("Connection", "").split(",")}
        if "upgrade" not in connection:
            raise FieldError(400, "Connection", "exec is a WebSocket: send Connection: Upgrade")
        if headers.get("Sec-WebSocket-Version") not in ("7", "8", "13"):
            raise FieldError(426, "Sec-WebSocket-Version", "use WebSocket version 13")
        if not headers.get("Sec-WebSocket-Key"):
            raise FieldError(400, "Sec-WebSocket-Key", "a WebSocket handshake needs a key")
        origin = headers.get("Origin")
        if origin is not None and not self.check_origin(origin):
            raise FieldError(403, "Origin", f"WebSockets from {origin} are not allowed")

    def _refuse(self, exc: NeuroError) -> None:
        self.set_status(status_of(exc))
        write_json_error(self, status_of(exc), exc)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors before the handshake (403, 405, 400...) as ``{"error", "field"}``,
        not Jupyter's HTML page (issue 14)."""
        write_json_error(self, status_code, kwargs.get("exc_info", (None, None, None))[1])

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Refusals are answered, not logged as server faults."""
        if isinstance(value, (NeuroError, FieldError)):
            self.log.debug("%s %s: %s", self.request.method, self.request.uri, value)
            return
        super().log_exception(typ, value, tb)

    async def open(self, ref: str) -> None:  # type: ignore[override]
        """Start the command and the output pump."""
        super().open()
        try:
            self.session = await self.service.exec(self.user_name, ref, self.command, tty=self.tty)
        except NeuroError as exc:
            self._send({"error": exc.message})
            self.close(1011, exc.message[:120])
            return
        self.pump = asyncio.ensure_future(self._pump(self.session))

    async def _pump(self, session: ExecSession) -> None:
        try:
            while data := await session.read():
                await self.write_message(data, binary=True)
            code = await session.wait()
            self._send({"exit_code": code})
            self.close(1000)
        except WebSocketClosedError:
            session.kill()

    def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(json.dumps(message))

    async def on_message(self, message: str | bytes) -> None:
        """Bytes go to stdin; text is a JSON control."""
        if self.session is None:
            return
        if isinstance(message, bytes):
            await self.session.write(message)
            return
        try:
            control = json.loads(message)
        except ValueError:
            return
        if isinstance(control, dict):
            if "resize" in control:
                rows, cols = control["resize"]
                self.session.resize(int(rows), int(cols))
            if control.get("eof"):
                await self.session.close_stdin()

    def on_close(self) -> None:
        """A closed socket ends a command that is still running."""
        if self.pump is not None and not self.pump.done() and self.session is not None:
            self.session.kill()
