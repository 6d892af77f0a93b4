"""``%neuro`` driving the kubernetes backend exactly as it drives the local one.

A real jupyter server (a subprocess) runs jobs as pods through the Kubernetes
API emulator of tests/k8s, which runs in a thread of this process with its own
event loop; a kernel of that server runs the magics.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Iterator

import pytest

from tests.k8s.emulator import KubernetesEmulator
from tests.k8s.kubelet import KubeletConfig
from tests.notebook import ServerKernel, run_cells, run_notebook, server_kernel
from tests.real_server import RealServer


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubernetesEmulator]:
    """The emulator, serving from a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    state = tmp_path_factory.mktemp("kubelet")
    emulator = KubernetesEmulator(KubeletConfig(state_dir=state))
    asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(30)
    try:
        yield emulator
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def kernel(
    emulator: KubernetesEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerKernel]:
    tmp_path = tmp_path_factory.mktemp("magics-k8s")
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    runtime = tmp_path / "runtime"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    for name in ("NEURO_API_URL", "NEURO_API_TOKEN", "KUBECONFIG"):
        env.pop(name, None)
    args = [
        "--NeuroJobs.backend_class=neuro_jupyter.backends.kubernetes.KubernetesBackend",
        f"--KubernetesBackend.kubeconfig={kubeconfig}",
        "--KubernetesBackend.kill_grace_period=2",
    ]
    server = RealServer(tmp_path, extra_args=args, env=env)
    server.start()
    try:
        with server_kernel(server, runtime) as kernel:
            run_notebook(kernel, ["%load_ext neuro_jupyter"])
            yield kernel
    finally:
        server.stop()


def test_run_streams_the_pods_output_into_the_cell(
    kernel: ServerKernel, emulator: KubernetesEmulator
) -> None:
    [shown] = run_cells(
        kernel, "%neuro run --preset cpu-small --name test ubuntu echo Hello, World!"
    )
    assert re.search(r"Job ID: job-[0-9a-f-]{36}", shown), shown
    assert "Name: test" in shown
    assert "Hello, World!" in shown
    assert "Traceback" not in shown
    assert emulator.count(method="POST", path="/pods") == 1  # it ran as a pod


def test_ps_status_logs_and_kill(kernel: ServerKernel) -> None:
    run_cells(kernel, "%neuro run --detach --name sleeper ubuntu sleep 60")
    ps, status, logs, killed = run_cells(
        kernel,
        "%neuro ps",
        "%neuro status sleeper",
        "%neuro logs test",
        "%neuro kill sleeper",
    )
    assert "sleeper" in ps and "<you>" in ps
    assert "Command: sleep 60" in status
    assert logs.strip() == "Hello, World!"
    assert re.search(r"job-[0-9a-f-]{36}", killed)
    [after] = run_cells(kernel, "%neuro status sleeper")
    assert "cancelled" in after


def test_exec_in_the_pod(kernel: ServerKernel) -> None:
    run_cells(kernel, "%neuro run --detach --name host ubuntu sleep 60")
    [shown] = run_cells(kernel, "%neuro exec host sh -c 'echo inside; exit 0'")
    assert "inside" in shown
    run_cells(kernel, "%neuro kill host")
