"""deploy/z2jh/: Zero to JupyterHub values for the jobs service and NeuroSpawner.

The RBAC manifests are valid Kubernetes and grant exactly what deploy/role.yaml
grants; the values' hub config is Python that sets what the hub needs, and it
configures real NeuroSpawner presets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from traitlets.config import Config

from neuro_jupyter.config import NeuroJobs
from neuro_jupyter.jobs.preset_choice import allowed_presets

from .schema import check_metadata, validate_strict

DEPLOY = Path(__file__).parents[3] / "deploy"


def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    return loaded


def hub_config() -> Config:
    """What hub.extraConfig sets, run as z2jh runs it (``c`` in scope)."""
    c = Config()
    for name, source in values()["hub"]["extraConfig"].items():
        exec(compile(source, f"extraConfig.{name}", "exec"), {"c": c})
    return c


def test_the_rbac_is_valid_and_grants_what_the_backend_uses() -> None:
    found = list(yaml.safe_load_all((DEPLOY / "z2jh" / "rbac.yaml").read_text()))
    for obj in found:
        validate_strict(obj)
        check_metadata(obj["metadata"])
    role = next(o for o in found if o["kind"] == "Role")
    [backend_role] = [
        o for o in yaml.safe_load_all((DEPLOY / "role.yaml").read_text()) if o["kind"] == "Role"
    ]
    assert role["rules"] == backend_role["rules"]
    binding = next(o for o in found if o["kind"] == "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub", "namespace": "jhub"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_service_runs_in_the_hub_pod_and_users_reach_it() -> None:
    hub = values()["hub"]
    service = hub["services"]["neuro"]
    assert service["url"] == "http://hub:10101"
    assert service["command"][0] == "neuro-jupyter-hub-service"
    assert {"name": "neuro", "port": 10101, "targetPort": 10101} in hub["service"]["extraPorts"]
    assert hub["networkPolicy"]["ingress"][0]["ports"] == [{"port": 10101}]
    scopes = hub["loadRoles"]["user"]["scopes"]
    assert {"access:services!service=neuro", "read:services!service=neuro"} <= set(scopes)
    env = values()["singleuser"]["extraEnv"]
    assert env["NEURO_JOBS_SERVICE_URL"] == "http://hub:10101/services/neuro/"


def test_the_hub_config_places_servers_on_the_presets() -> None:
    c = hub_config()
    assert c.JupyterHub.spawner_class == "neuro_jupyter.hub.kubespawner.NeuroSpawner"
    assert "access:services!service=neuro" in c.Spawner.server_token_scopes
    presets = NeuroJobs(config=c).configured_presets()
    assert [p.name for p in presets] == ["cpu-small", "gpu-small", "gpu-spot"]
    groups = c.NeuroSpawner.preset_groups
    assert [p.name for p in allowed_presets(presets, groups, [])] == ["cpu-small"]
    assert c.NeuroJobs.backend_class.endswith("KubernetesBackend")
