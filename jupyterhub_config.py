"""JupyterHub with neuro-jupyter: one jobs service for every user of the hub.

On one machine, as it is (after ``scripts/hub``'s install, which runs it)::

    jupyterhub -f jupyterhub_config.py

then open http://127.0.0.1:8000 and log in with any user name and the
password below. Users' notebook servers are themselves jobs of the jobs
service (``neuro-jupyter-hub-service``, the local backend), on the preset
picked on the spawn form, counted with every other job; their jobs run there
too, shared by every user of the hub. State (the hub's database, the jobs registry and
folders, users' homes) goes to ``.hub/`` beside this file.

On Kubernetes, set ``NEURO_HUB_KUBERNETES=1`` (see the section at the end):
notebook servers become pods on the jobs' presets (``NeuroSpawner``) and
jobs become pods too. Zero to JupyterHub users: ``deploy/z2jh-values.yaml``.

Environment (all optional): NEURO_HUB_DIR (state), NEURO_HUB_URL (the
public URL), NEURO_HUB_PASSWORD, NEURO_HUB_API_PORT, NEURO_HUB_PROXY_API_PORT,
NEURO_HUB_SERVICE_PORT.
"""

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined] # noqa: F821 - given by JupyterHub

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("NEURO_HUB_DIR", HERE / ".hub"))
STATE.mkdir(parents=True, exist_ok=True)
BIN = Path(sys.executable).parent  # the environment JupyterHub runs in
env = os.environ.get

# -- the hub and its proxy ------------------------------------------------------
c.JupyterHub.bind_url = env("NEURO_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env('NEURO_HUB_API_PORT', '8081')}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('NEURO_HUB_PROXY_API_PORT', '8001')}"
_local_proxy = HERE / ".cache" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
if not shutil.which("configurable-http-proxy") and _local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(_local_proxy)]  # scripts/hub installs it here

# -- FOR TRYING IT ONLY: one shared password, any user name -----------------------
# Replace with your organisation's authenticator (OAuthenticator, LDAP, ...).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env("NEURO_HUB_PASSWORD", "try-neuro-jupyter")
c.Authenticator.allow_all = True

# -- the jobs service: one registry and backend for the whole hub -----------------
c.NeuroJobs.data_dir = str(STATE / "neuro")  # its registry, job folders and storage
SERVICE_PORT = env("NEURO_HUB_SERVICE_PORT", "10101")
c.JupyterHub.services = [
    {
        "name": "neuro",
        "url": f"http://127.0.0.1:{SERVICE_PORT}",
        # The service reads this same file: one preset list (c.NeuroJobs.*)
        # for jobs and notebook servers.
        "command": [str(BIN / "neuro-jupyter-hub-service"), f"--config={__file__}"],
        # A managed service gets none of the hub's environment but what this says.
        "environment": {k: v for k, v in os.environ.items() if k.startswith("NEURO_HUB_")},
        "oauth_no_confirm": True,
        "display": True,
    }
]
# Every user may use the jobs service, and users' servers may find it.
c.JupyterHub.load_roles = [
    {
        "name": "user",
        "scopes": ["self", "access:services!service=neuro", "read:services!service=neuro"],
    }
]
# A user's server relays neuro/api to the service with its own token.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=neuro",
    "read:services!service=neuro",
]

# -- users' notebook servers: jobs on this machine, on the same presets as jobs ----
# One preset list for jobs and notebook servers (the service reads this file too).
_MEMORY = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
c.NeuroJobs.presets = [
    {"name": "cpu-small", "cpu": 1, "memory": "2GiB"},
    {"name": "cpu-large", "cpu": os.cpu_count() or 1, "memory": _MEMORY // 2},
]
# c.NeuroSpawner.preset_groups / c.NeuroJobSpawner.preset_groups: presets for hub groups only.
c.JupyterHub.spawner_class = "neuro_jupyter.hub.jobspawner.NeuroJobSpawner"
c.NeuroJobSpawner.jobs_service_url = f"http://127.0.0.1:{SERVICE_PORT}/services/neuro/api/v1/"
c.NeuroJobSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 600  # a server waits (on its spawn page) while its preset does not fit

# -- on Kubernetes ---------------------------------------------------------------------
if env("NEURO_HUB_KUBERNETES"):
    # Notebook servers as pods on the jobs' presets; jobs as pods as well.
    # The service needs the kubernetes backend's RBAC (deploy/) and a shared
    # registry for real use (c.NeuroJobs.db_url = "postgresql+psycopg://...").
    c.JupyterHub.spawner_class = "neuro_jupyter.hub.kubespawner.NeuroSpawner"
    c.JupyterHub.hub_connect_ip = env("NEURO_HUB_CONNECT_IP", "hub")
    c.NeuroJobs.presets = [
        {"name": "cpu-small", "cpu": 1, "memory": "4GiB"},
        {"name": "gpu-small", "cpu": 7, "memory": "57GB", "gpu": 1, "gpu_model": "nvidia-tesla-t4"},
        {"name": "gpu-spot", "cpu": 8, "memory": "32GiB", "gpu": 1, "gpu_model": "nvidia-l4",
         "preemptible": True},
    ]  # fmt: skip
    c.NeuroSpawner.preset_groups = {"ml": ["gpu-small", "gpu-spot"]}
    c.KubernetesBackend.node_conventions = "gke"  # or aks, eks, karpenter, generic
    c.KubeSpawner.image = "quay.io/jupyter/base-notebook:latest"  # with neuro-jupyter installed
    c.NeuroJobs.backend_class = "neuro_jupyter.backends.kubernetes.KubernetesBackend"
