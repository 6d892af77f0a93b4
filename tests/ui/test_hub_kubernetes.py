"""NeuroSpawner under a real JupyterHub, on the Kubernetes API emulator, in Chromium.

The hub (a subprocess, with the jobs service as a managed service) reaches
the emulator through a kubeconfig; the emulator's kubelet runs each pod's
command, the venv's ``jupyterhub-singleuser``, as a real process on 127.0.0.1
(its pod IP) on a port of its own. alice logs in, picks gpu-small on the
form built from the presets, and her JupyterLab opens in a pod placed on
the GPU node by the preset; ``%neuro run`` in a kernel there runs a job on
the jobs service. Her next server, on cpu-small through the hub's API, keeps
nothing of the GPU spawn; a preset no node can take fails at once with the
scheduler's words. Every pod the hub sent passes the Kubernetes schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.backends.kubernetes.schema import check_pod
from tests.hub.realhub import RealHub
from tests.k8s.background import EmulatorThread
from tests.k8s.kubelet import KubeletConfig, Node
from tests.notebook import ServerKernel, run_cells
from tests.real_server import free_port
from tests.ui.conftest import Shots
from tests.ui.test_hub import log_in
from tests.ui.test_sidebar import open_sidebar, row, tid

pytestmark = pytest.mark.timeout(300)

GPU_MODEL_LABEL = "nvidia.com/gpu.product"  # c.KubernetesBackend.node_conventions "generic"
SPOT_LABEL = "neuro-jupyter/preemptible"
NODES = [
    Node("cpu-1", cpu=4, memory="16Gi"),
    Node(
        "gpu-1",
        cpu=8,
        memory="64Gi",
        gpus=1,
        labels={GPU_MODEL_LABEL: "V100", SPOT_LABEL: "true"},
        taints=[
            {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
            {"key": SPOT_LABEL, "value": "true", "effect": "NoSchedule"},
        ],
    ),
]

NEURO_CONFIG = """
import os

c.NeuroJobs.presets = [
    {"name": "cpu-small", "cpu": 1, "memory": "4GB"},
    {"name": "gpu-small", "cpu": 7, "memory": "57GB", "gpu": 1, "gpu_model": "V100",
     "preemptible": True},
    {"name": "gpu-large", "cpu": 16, "memory": "120GB", "gpu": 4, "gpu_model": "A100"},
]
c.NeuroSpawner.preset_groups = {"ml": ["gpu-small", "gpu-large"]}
if "HUB_SERVICE_URL" in os.environ:  # the hub (a managed service gets none of its environment)
    c.JupyterHub.spawner_class = "neuro_jupyter.hub.kubespawner.NeuroSpawner"
    # Always through the spawn-pending page, however fast the pod starts.
    c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}
    c.KubeSpawner.namespace = "default"
    # The emulator's kubelet runs the command here; the pod's IP is 127.0.0.1.
    c.KubeSpawner.cmd = [os.environ["HUB_VENV_BIN"] + "/jupyterhub-singleuser"]
    c.KubeSpawner.ip = "127.0.0.1"
    c.KubeSpawner.port = int(os.environ["HUB_POD_PORT"])  # one server at a time: alice's
    home = os.environ["HUB_DIR"] + "/home/{username}"
    c.KubeSpawner.working_dir = home
    c.KubeSpawner.environment = {
        "HOME": home,
        "JUPYTER_RUNTIME_DIR": home + "/runtime",
        "NEURO_JUPYTER_TEST_RUN": os.environ.get("NEURO_JUPYTER_TEST_RUN", ""),
    }
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    """A CPU node and a tainted spot node with one V100; pods run here as processes."""
    state = tmp_path_factory.mktemp("kubelet")
    with EmulatorThread(KubeletConfig(nodes=list(NODES), state_dir=state)) as k8s:
        yield k8s
        errors = k8s.call(lambda emulator: list(emulator.kubelet.errors))
    assert not errors, f"pod workers crashed: {errors}"


@pytest.fixture(scope="module")
def kube_hub(
    tmp_path_factory: pytest.TempPathFactory, cluster: EmulatorThread
) -> Iterator[RealHub]:
    """A real hub whose servers are NeuroSpawner pods on the emulator."""
    folder = tmp_path_factory.mktemp("kube-hub")
    kubeconfig = cluster.emulator.write_kubeconfig(folder / "kubeconfig")
    (folder / "home" / "alice").mkdir(parents=True)
    env = {"KUBECONFIG": str(kubeconfig), "HUB_POD_PORT": str(free_port())}
    hub = RealHub(folder, neuro_config=NEURO_CONFIG, env=env)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def pods(cluster: EmulatorThread) -> dict[str, dict[str, Any]]:
    """The pods the emulator holds now, by name."""
    listed = cluster.call(lambda emulator: emulator.store.list("pods", "default"))
    return {p["metadata"]["name"]: p for p in listed}


def check_posted_pods(cluster: EmulatorThread) -> list[dict[str, Any]]:
    """Every pod the hub has sent, as sent, each checked against the schema."""
    posted = cluster.call(lambda emulator: list(emulator.posted_pods))
    for manifest in posted:
        check_pod(manifest)
    return posted


def gpu_tolerations(pod: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("nvidia.com/gpu", SPOT_LABEL)
    return [t for t in pod["spec"].get("tolerations") or [] if t.get("key") in keys]


def start_from_the_form(page: Any, preset: str) -> None:
    """Pick ``preset`` on the hub's spawn form and start; on to the spawn-pending page."""
    page.check(f'input[name="profile"][value="{preset}"]')
    page.locator('#spawn_form input[type="submit"], #spawn_form button[type="submit"]').click()
    page.wait_for_url("**/hub/spawn-pending/alice**")


def test_alice_picks_gpu_small_and_her_lab_runs_in_its_pod(
    browser: Any, kube_hub: RealHub, cluster: EmulatorThread
) -> None:
    page = log_in(browser, kube_hub, "alice")
    shots = Shots(page, "hub-kubernetes")
    page.goto(f"{kube_hub.url}hub/spawn")
    form = page.locator("#spawn_form")  # the presets alice (group ml) may pick
    expect(form).to_contain_text("cpu-small — 1 CPU, 4 GB, no GPU")
    expect(form).to_contain_text("gpu-small — 7 CPU, 57 GB, 1 x V100, preemptible")
    expect(form).to_contain_text("gpu-large — 16 CPU, 120 GB, 4 x A100")
    shots("spawn-form")
    start_from_the_form(page, "gpu-small")
    shots("spawn-pending")
    page.wait_for_url("**/user/alice/lab**", timeout=120_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=30_000)
    open_sidebar(page)
    shots("lab-with-sidebar")

    # Her pod: the preset's GPU, on a node with its model (the tainted spot node).
    gpu_pod = pods(cluster)["jupyter-alice"]
    assert gpu_pod["spec"]["nodeName"] == "gpu-1"
    resources = gpu_pod["spec"]["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert float(resources["limits"]["cpu"]) == 7.0
    assert resources["requests"] == resources["limits"]
    assert gpu_pod["spec"]["nodeSelector"][GPU_MODEL_LABEL] == "V100"
    assert len(gpu_tolerations(gpu_pod)) == 2  # the GPU taint and the spot taint

    # %neuro run in a kernel of her server, in the pod, runs a job on the jobs service.
    server = SimpleNamespace(api=kube_hub.server_api("alice"))
    runtime = kube_hub.dir / "home" / "alice" / "runtime"
    kernel = ServerKernel(server, runtime, kube_hub.server_token("alice"))
    try:
        out = run_cells(
            kernel,
            "%load_ext neuro_jupyter",
            "import os; print(os.environ['HOSTNAME'])",  # the kubelet's: the pod's name
            "%neuro run --preset cpu-small --name hello ubuntu echo hello from the pod",
        )
    finally:
        kernel.shutdown()
    assert out[1].strip() == "jupyter-alice", out
    assert "hello from the pod" in out[2], out
    expect(row(page, "hello")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(row(page, "hello").locator(tid("neuro-job-preset"))).to_have_text("cpu-small")
    shots("job-from-the-pod")

    # Her next server, on cpu-small (the same spawner object): nothing of the GPU spawn.
    kube_hub.stop_server("alice")
    kube_hub.wait_until(lambda: "jupyter-alice" not in pods(cluster), 30, "the pod to go")
    response = kube_hub.admin("POST", "users/alice/server", {"profile": "cpu-small"})
    assert response.status_code in (201, 202), response.text
    kube_hub.wait_until(lambda: kube_hub.server_ready("alice"), 90, "alice's cpu-small server")
    cpu_pod = pods(cluster)["jupyter-alice"]
    assert cpu_pod["spec"]["nodeName"] == "cpu-1"
    resources = cpu_pod["spec"]["containers"][0]["resources"]
    assert float(resources["limits"]["cpu"]) == 1.0
    assert "nvidia.com/gpu" not in resources["limits"]
    assert "nvidia.com/gpu" not in resources["requests"]
    assert GPU_MODEL_LABEL not in (cpu_pod["spec"].get("nodeSelector") or {})
    assert gpu_tolerations(cpu_pod) == []
    kube_hub.stop_server("alice")
    assert len(check_posted_pods(cluster)) == 2


def test_a_preset_no_node_can_take_fails_her_spawn_at_once(
    browser: Any, kube_hub: RealHub, cluster: EmulatorThread
) -> None:
    kube_hub.stop_server("alice")  # none, unless the test before failed half-way
    page = log_in(browser, kube_hub, "alice")
    shots = Shots(page, "hub-kubernetes-unschedulable")
    page.goto(f"{kube_hub.url}hub/spawn")
    start_from_the_form(page, "gpu-large")  # 4 A100s: no node has them
    # The progress message, or the failed page when the failure came first (a busy machine).
    # Well before start_timeout (60 s), where plain KubeSpawner would still be waiting.
    failure = page.locator("body")
    expect(failure).to_contain_text("no node can take it: 0/2 nodes are available", timeout=30_000)
    expect(failure).to_contain_text("didn't match Pod's node affinity/selector")  # the scheduler's
    shots("spawn-failed")
    kube_hub.wait_until(lambda: "jupyter-alice" not in pods(cluster), 30, "the pod to go")
    last = check_posted_pods(cluster)[-1]
    assert last["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"
