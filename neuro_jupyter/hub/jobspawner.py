"""NeuroJobSpawner: on one machine, a user's notebook server is a job.

The spawner asks the hub's jobs service to run ``jupyterhub-singleuser`` on
the preset the user picked, as Neu.ro runs Jupyter itself as a job. So the
server counts against the same CPUs, memory and GPUs as jobs (a server and a
job never get the same GPU: ``CUDA_VISIBLE_DEVICES``), a server that does not
fit waits in ``pending/Scheduling`` with the reason on the hub's spawn page,
its memory is enforced, and it shows in the user's ``ps`` (tagged
``jupyterhub:server``) like any job.

The server's hub credentials (``JUPYTERHUB_API_TOKEN`` and the rest of
``get_env()``) travel as the job's ``secret_env``: they reach that one
process and are recorded nowhere (not the registry, the API, ``status``,
``ps``, the job's folder or ``generate-run-command``), and jobs the user
starts from the server never inherit them.
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
from jupyterhub.spawner import Spawner
from jupyterhub.utils import random_port
from traitlets import Float, Unicode, default

from ..jobs.errors import InvalidSpec
from ..jobs.preset_choice import choose_preset
from ..jobs.presets import preset_label
from .presets import PresetChoice

__all__ = ["SERVER_TAG", "NeuroJobSpawner"]

SERVER_TAG = "jupyterhub:server"
SERVER_NAME = "jupyterhub-server"


class NeuroJobSpawner(PresetChoice, Spawner):  # type: ignore[misc]
    """Users' notebook servers as jobs of the hub's jobs service (local backend)."""

    jobs_service_url = Unicode(
        "http://127.0.0.1:10101/services/neuro/api/v1/",
        config=True,
        help="The jobs service's REST API as the hub reaches it.",
    )
    home_dir_template = Unicode(
        "/tmp/{username}",
        config=True,
        help="The server's working folder (made if missing), as SimpleLocalProcessSpawner's.",
    )
    poll_seconds = Float(0.5, config=True, help="How often a starting server's job is looked at.")
    job_id = Unicode("", help="The server's job (kept in the hub's state).")

    _waiting = ""

    # -- presets ------------------------------------------------------------

    @default("options_form")
    def _default_options_form(self) -> str:
        rows = []
        for i, preset in enumerate(self.allowed()):
            checked = " checked" if i == 0 else ""
            rows.append(
                f'<label class="form-check"><input class="form-check-input" type="radio" '
                f'name="preset" value="{preset.name}"{checked}> '
                f"{html.escape(preset_label(preset))}</label>"
            )
        return "\n".join(rows)

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        """The preset picked on the spawn form (checked again in :meth:`start`)."""
        return {"preset": (formdata.get("preset") or [""])[0]}

    # -- the job --------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.jobs_service_url,
            headers={"Authorization": f"token {self.api_token}"},
            timeout=30,
        )

    async def start(self) -> tuple[str, int]:
        """Run the server as a job on the chosen preset; its address once it runs.

        Raises:
            ValueError: the preset does not exist or is not this user's.
            RuntimeError: the jobs service refused or ended the job (its words).
        """
        options = self.user_options or {}
        try:
            preset = choose_preset(
                options.get("preset", options.get("profile")), self.allowed(), self.presets()
            )
        except InvalidSpec as exc:
            raise ValueError(exc.message) from None
        self.port = random_port()
        home = self.home_dir_template.format(username=self.user.name)
        os.makedirs(home, exist_ok=True)
        env = self.get_env()
        env["HOME"] = home
        spec = {
            "image": "jupyterhub-singleuser",
            "name": SERVER_NAME,
            "command": [*self.cmd, *self.get_args()],
            "preset": preset.name,
            "tags": [SERVER_TAG],
            "description": "JupyterHub notebook server",
            "workdir": home,
            "life_span": 0,
            "secret_env": env,
        }
        async with self._client() as client:
            job = await self._create(client, spec)
            self.job_id = job["id"]
            await self._until_running(client)
        return ("127.0.0.1", self.port)

    async def _create(self, client: httpx.AsyncClient, spec: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await client.post("jobs", json=spec)
            if response.status_code == 409 and await self._lost_server(client):
                await client.delete(f"jobs/{SERVER_NAME}", params={"wait": "true"})
                response = await client.post("jobs", json=spec)
        except httpx.HTTPError as exc:
            where = self.jobs_service_url
            raise RuntimeError(f"jobs service unavailable at {where}: {exc}") from exc
        if response.status_code != 201:
            raise RuntimeError(f"the jobs service refused the server: {_error(response)}")
        created: dict[str, Any] = response.json()
        return created

    async def _lost_server(self, client: httpx.AsyncClient) -> bool:
        """Whether the live job holding the server's name is a server the hub lost
        track of (tagged so), not a job of the user's that happens to have the name."""
        response = await client.get(f"jobs/{SERVER_NAME}")
        return response.status_code == 200 and SERVER_TAG in response.json().get("tags", [])

    async def _until_running(self, client: httpx.AsyncClient) -> None:
        pause = 0.02  # a job that fits runs within milliseconds: look soon, then less often
        while True:
            job = (await client.get(f"jobs/{self.job_id}")).json()
            if job["status"] == "running":
                self._waiting = ""
                return
            if job["status"] != "pending":
                reason = job.get("status_description") or job.get("reason") or job["status"]
                raise RuntimeError(f"the server's job ended {job['status']}: {reason}")
            self._waiting = job.get("status_description") or job.get("reason") or "pending"
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.poll_seconds)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Why the server's job waits (e.g. for a GPU), for the spawn-pending page."""
        said = ""
        while not self._spawn_future_done():
            if self._waiting and self._waiting != said:
                said = self._waiting
                yield {"progress": 50, "message": f"Waiting: {said}"}
            await asyncio.sleep(self.poll_seconds)

    def _spawn_future_done(self) -> bool:
        future = getattr(self, "_spawn_future", None)
        return future is None or future.done()

    async def poll(self) -> int | None:
        """None while the server's job is pending or running; its exit code after."""
        if not self.job_id:
            return 0
        async with self._client() as client:
            try:
                response = await client.get(f"jobs/{self.job_id}")
            except httpx.HTTPError:
                return None  # the service is down: the job itself may well run on
        if response.status_code == 404:
            return 1
        job = response.json()
        if job["status"] in ("pending", "running"):
            return None
        return int(job.get("exit_code") or 1)

    async def stop(self, now: bool = False) -> None:
        """Kill the server's job."""
        if not self.job_id:
            return
        async with self._client() as client:
            await client.delete(f"jobs/{self.job_id}", params={"wait": "true"})

    def get_state(self) -> dict[str, Any]:
        """The server's job id, kept by the hub across its restarts."""
        state: dict[str, Any] = super().get_state()
        if self.job_id:
            state["job_id"] = self.job_id
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the server's job id."""
        super().load_state(state)
        self.job_id = state.get("job_id", "")

    def clear_state(self) -> None:
        """Forget the stopped server's job."""
        super().clear_state()
        self.job_id = ""


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error"))
    except ValueError:
        return f"HTTP {response.status_code}"
