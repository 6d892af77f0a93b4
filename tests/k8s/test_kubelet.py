"""The simulated scheduler and kubelet, seen through kubernetes_asyncio.

Pods run as real local processes: their output, exit codes, signals, exec and
resource usage are real.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import psutil
import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient
from kubernetes_asyncio.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL
from kubernetes_asyncio.watch import Watch

from tests.utils import wait_for

from .emulator import KubernetesEmulator
from .helpers import NS, container_state, create, phase, pod_manifest, python_pod, raw, wait_pod
from .kubelet import KubeletConfig, Node

SLEEP = ["sleep", "30"]
GPU_MESSAGE = (
    "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are "
    "available: 1 No preemption victims found for incoming pod."
)


async def events_for(v1: CoreV1Api, name: str) -> list[Any]:
    """The events about pod ``name``."""
    result = await v1.list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
    return list(result.items)


async def test_a_pod_runs_and_reports_its_exit_code(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, python_pod("ok", "print('done')"))
    await create(v1, python_pod("bad", "import sys; sys.exit(3)"))
    ok = await wait_pod(k8s_api, "ok", lambda p: phase(p) == "Succeeded")
    bad = await wait_pod(k8s_api, "bad", lambda p: phase(p) == "Failed")
    assert container_state(ok)["terminated"]["reason"] == "Completed"
    assert container_state(bad)["terminated"]["exitCode"] == 3
    assert container_state(bad)["terminated"]["reason"] == "Error"
    assert ok["spec"]["nodeName"] == "node-1" and ok["status"]["podIP"] == "127.0.0.1"
    ready = {c["type"]: c for c in ok["status"]["conditions"]}
    assert ready["Ready"]["status"] == "False" and ready["Ready"]["reason"] == "PodCompleted"
    reasons = [e.reason for e in await events_for(v1, "ok")]
    assert reasons[:1] == ["Scheduled"] and {"Pulling", "Pulled", "Created", "Started"} <= set(
        reasons
    )


async def test_the_command_gets_its_environment_and_workdir(
    k8s_api: ApiClient, tmp_path: Path
) -> None:
    v1 = CoreV1Api(k8s_api)
    code = "import os; print(os.environ['GREETING'], os.environ['HOSTNAME'], os.getcwd())"
    manifest = python_pod("env", code, env={"WHO": "k8s", "GREETING": "hello $(WHO)"})
    manifest["spec"]["containers"][0]["workingDir"] = str(tmp_path)
    await create(v1, manifest)
    await wait_pod(k8s_api, "env", lambda p: phase(p) == "Succeeded")
    log = await v1.read_namespaced_pod_log("env", NS)
    assert log == f"hello k8s env {tmp_path}\n"


async def test_args_follow_the_images_entrypoint(tmp_path: Path) -> None:
    config = KubeletConfig(entrypoints={"shell:1": ["sh", "-c"]}, state_dir=tmp_path / "k")
    async with KubernetesEmulator(config) as k8s, ApiClient(k8s.configuration()) as api:
        v1 = CoreV1Api(api)
        manifest = pod_manifest("entry", [], image="shell:1")
        manifest["spec"]["containers"][0]["args"] = ["echo $0-$1", "a", "b"]
        await create(v1, manifest)
        await wait_pod(api, "entry", lambda p: phase(p) == "Succeeded")
        assert await v1.read_namespaced_pod_log("entry", NS) == "a-b\n"


async def test_running_status_has_a_start_time(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("run", SLEEP))
    pod = await wait_pod(k8s_api, "run", lambda p: phase(p) == "Running")
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is True and status["started"] is True
    assert status["state"]["running"]["startedAt"]
    assert status["containerID"].startswith("containerd://")
    assert status["imageID"].startswith("docker.io/library/python@sha256:")
    typed = await v1.read_namespaced_pod("run", NS)
    assert typed.status.container_statuses[0].state.running.started_at is not None


async def test_a_gpu_pod_beyond_capacity_stays_pending(
    k8s: KubernetesEmulator, k8s_api: ApiClient
) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("gpu", SLEEP, limits={"nvidia.com/gpu": "1"}))
    pod = await wait_pod(k8s_api, "gpu", lambda p: p["status"].get("conditions"))
    assert phase(pod) == "Pending" and "nodeName" not in pod["spec"]
    condition = pod["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert condition["message"] == GPU_MESSAGE
    async with Watch() as watch:  # events are watched by field selector, as they are listed
        stream = watch.stream(
            v1.list_namespaced_event,
            NS,
            field_selector="involvedObject.name=gpu,involvedObject.kind=Pod",
            timeout_seconds=5,
        )
        async for event in stream:
            assert event["object"].reason == "FailedScheduling"
            break
    events = await events_for(v1, "gpu")
    assert [(e.type, e.reason, e.message) for e in events] == [
        ("Warning", "FailedScheduling", GPU_MESSAGE)
    ]
    assert events[0].reporting_component == "default-scheduler"
    # A GPU node joins: the pod is scheduled there and runs.
    k8s.add_node(Node("gpu-node", gpus=2, labels={"nvidia.com/gpu.product": "A100"}))
    pod = await wait_pod(k8s_api, "gpu", lambda p: phase(p) == "Running")
    assert pod["spec"]["nodeName"] == "gpu-node"


async def test_capacity_frees_when_a_pod_ends(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, python_pod("big", "import time; time.sleep(0.5)",
                                                  limits={"cpu": "3"}))  # fmt: skip
    await wait_pod(k8s_api, "big", lambda p: phase(p) == "Running")
    await create(v1, pod_manifest("next", ["true"], limits={"cpu": "2"}))
    pod = await wait_pod(k8s_api, "next", lambda p: p["status"].get("conditions"))
    assert "1 Insufficient cpu" in pod["status"]["conditions"][0]["message"]
    await wait_pod(k8s_api, "next", lambda p: phase(p) == "Succeeded")


class TestPlacement:
    """A CPU node and a GPU node tainted for GPUs; no spot node."""

    @pytest.fixture
    def k8s_config(self, tmp_path: Path) -> KubeletConfig:
        taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
        return KubeletConfig(
            nodes=[Node("cpu-1"), Node("gpu-1", gpus=1, taints=[taint])],
            state_dir=tmp_path / "kubelet",
        )

    async def test_taints_selectors_and_affinity(self, k8s_api: ApiClient) -> None:
        await check_placement(k8s_api)


async def check_placement(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    untolerated = pod_manifest("no-toleration", SLEEP, limits={"nvidia.com/gpu": "1"})
    await create(v1, untolerated)
    tolerated = pod_manifest(
        "tolerates",
        SLEEP,
        limits={"nvidia.com/gpu": "1"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    )
    await create(v1, tolerated)
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "cloud.google.com/gke-spot",
                                "operator": "In",
                                "values": ["true"],
                            }
                        ]
                    }
                ]
            }
        }
    }
    await create(v1, pod_manifest("spot", SLEEP, affinity=affinity))
    pod = await wait_pod(k8s_api, "tolerates", lambda p: phase(p) == "Running")
    assert pod["spec"]["nodeName"] == "gpu-1"
    waiting = await wait_pod(k8s_api, "no-toleration", lambda p: p["status"].get("conditions"))
    assert waiting["status"]["conditions"][0]["message"] == (
        "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint "
        "{nvidia.com/gpu: present}. preemption: 0/2 nodes are available: 1 No preemption victims "
        "found for incoming pod, 1 Preemption is not helpful for scheduling."
    )
    spot = await wait_pod(k8s_api, "spot", lambda p: p["status"].get("conditions"))
    assert spot["status"]["conditions"][0]["message"] == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) "
        "had untolerated taint {nvidia.com/gpu: present}. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling."
    )


async def test_an_image_that_does_not_exist(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    image = "registry.example.com/does-not-exist:1"
    await create(v1, pod_manifest("pull", SLEEP, image=image))
    pulling = await wait_pod(
        k8s_api,
        "pull",
        lambda p: container_state(p).get("waiting", {}).get("reason") == "ErrImagePull",
    )
    assert phase(pulling) == "Pending"
    assert "not found" in container_state(pulling)["waiting"]["message"]
    backoff = await wait_pod(
        k8s_api,
        "pull",
        lambda p: container_state(p).get("waiting", {}).get("reason") == "ImagePullBackOff",
    )
    assert container_state(backoff)["waiting"]["message"] == f'Back-off pulling image "{image}"'
    messages = [e.message for e in await events_for(v1, "pull")]
    assert "Error: ErrImagePull" in messages and "Error: ImagePullBackOff" in messages
    assert any(m.startswith(f'Failed to pull image "{image}"') for m in messages)
    with pytest.raises(ApiException) as waiting:
        await v1.read_namespaced_pod_log("pull", NS)
    assert waiting.value.status == 400
    assert json.loads(waiting.value.body or b"{}")["message"] == (
        'container "main" in pod "pull" is waiting to start: trying and failing to pull image'
    )


async def test_logs_follow_streams_output_as_it_is_written(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    code = "import time\nprint('first')\ntime.sleep(1)\nprint('second')"
    await create(v1, python_pod("follow", code))
    await wait_pod(k8s_api, "follow", lambda p: phase(p) == "Running")
    response = await raw(
        v1.read_namespaced_pod_log("follow", NS, follow=True, _preload_content=False)
    )
    first = await asyncio.wait_for(response.content.readline(), 5)
    assert first == b"first\n"
    pod = await v1.read_namespaced_pod("follow", NS)
    assert pod.status.phase == "Running"  # the first line came while the command ran
    rest = await asyncio.wait_for(response.content.read(), 10)
    assert rest == b"second\n"
    response.release()
    lines = []
    async with Watch() as watch:  # the other way kubernetes_asyncio follows logs
        async for line in watch.stream(v1.read_namespaced_pod_log, "follow", NS):
            lines.append(line)
    assert lines == ["first\n", "second\n"]


async def test_log_options(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    code = (
        # One stream: the order of stdout against stderr is no promise (two pipes).
        "for i in range(5): print(i)\nprint('oops')\nprint('tail', end='')"
    )
    await create(v1, python_pod("opts", code))
    await wait_pod(k8s_api, "opts", lambda p: phase(p) == "Succeeded")
    whole = await v1.read_namespaced_pod_log("opts", NS)
    assert whole.splitlines() == ["0", "1", "2", "3", "4", "oops", "tail"]
    assert await v1.read_namespaced_pod_log("opts", NS, tail_lines=2) == "oops\ntail"
    stamped = await v1.read_namespaced_pod_log("opts", NS, timestamps=True, tail_lines=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tail", stamped)
    assert await v1.read_namespaced_pod_log("opts", NS, limit_bytes=3) == "0\n1"
    assert await v1.read_namespaced_pod_log("opts", NS, since_seconds=60) == whole


async def test_stderr_is_in_the_log(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, python_pod("err", "import sys\nsys.stderr.write('oops\\n')"))
    await wait_pod(k8s_api, "err", lambda p: phase(p) == "Succeeded")
    assert await v1.read_namespaced_pod_log("err", NS) == "oops\n"


async def test_previous_logs_after_a_restart(k8s_api: ApiClient, tmp_path: Path) -> None:
    v1 = CoreV1Api(k8s_api)
    counter = tmp_path / "runs"
    code = (
        f"import pathlib, sys\np = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\np.write_text(str(n))\n"
        "print(f'run {n}')\nsys.exit(1 if n < 3 else 0)"
    )
    await create(v1, python_pod("again", code, restartPolicy="OnFailure"))
    pod = await wait_pod(k8s_api, "again", lambda p: phase(p) == "Succeeded")
    status = pod["status"]["containerStatuses"][0]
    assert status["restartCount"] == 2
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert await v1.read_namespaced_pod_log("again", NS) == "run 3\n"
    assert await v1.read_namespaced_pod_log("again", NS, previous=True) == "run 2\n"
    reasons = [e.reason for e in await events_for(v1, "again")]
    assert "BackOff" in reasons


async def test_restart_always_backs_off(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("loop", ["true"], restartPolicy="Always"))
    pod = await wait_pod(
        k8s_api,
        "loop",
        lambda p: container_state(p).get("waiting", {}).get("reason") == "CrashLoopBackOff",
    )
    assert phase(pod) == "Running"
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 0


async def test_logs_are_gone_with_the_pod(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, python_pod("short", "print('bye')"))
    await wait_pod(k8s_api, "short", lambda p: phase(p) == "Succeeded")
    assert await v1.read_namespaced_pod_log("short", NS) == "bye\n"
    with pytest.raises(ApiException) as no_previous:
        await v1.read_namespaced_pod_log("short", NS, previous=True)
    assert no_previous.value.status == 400
    await v1.delete_namespaced_pod("short", NS)
    with pytest.raises(ApiException) as gone:
        await v1.read_namespaced_pod_log("short", NS)
    assert gone.value.status == 404


async def exec_frames(api: WsApiClient, name: str, command: list[str]) -> dict[int, bytes]:
    """Run ``command`` in pod ``name``; the bytes received on each channel."""
    v1 = CoreV1Api(api)
    frames: dict[int, bytes] = {}
    ws_context: Any = await v1.connect_get_namespaced_pod_exec(
        name,
        NS,
        command=command,  # type: ignore[arg-type]  # the stubs say str; a list is sent as repeats
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    async with ws_context as ws:
        async for message in ws:
            data = message.data
            frames[data[0]] = frames.get(data[0], b"") + data[1:]
    return frames


async def test_exec_returns_output_and_exit_code(k8s: KubernetesEmulator) -> None:
    async with ApiClient(k8s.configuration()) as api:
        manifest = pod_manifest("shell", SLEEP, env={"SECRET": "42"})
        await create(CoreV1Api(api), manifest)
        await wait_pod(api, "shell", lambda p: phase(p) == "Running")
    async with WsApiClient(k8s.configuration()) as ws_api:
        script = "echo out $SECRET; echo err >&2; exit 3"
        frames = await exec_frames(ws_api, "shell", ["sh", "-c", script])
        assert frames[STDOUT_CHANNEL] == b"out 42\n"
        assert frames[STDERR_CHANNEL] == b"err\n"
        assert WsApiClient.parse_error_data(frames[ERROR_CHANNEL]) == 3
        ok = await exec_frames(ws_api, "shell", ["true"])
        assert WsApiClient.parse_error_data(ok[ERROR_CHANNEL]) == 0
        preloaded = await CoreV1Api(ws_api).connect_get_namespaced_pod_exec(
            "shell", NS, command="pwd", stdout=True, stderr=True, stdin=False, tty=False
        )
        assert preloaded.endswith("/main\n")  # the container's own working directory
        missing = await exec_frames(ws_api, "shell", ["no-such-command"])
        status = json.loads(missing[ERROR_CHANNEL])
        assert status["status"] == "Failure" and status["reason"] == "InternalError"


async def test_exec_with_stdin_and_a_tty(k8s: KubernetesEmulator) -> None:
    async with ApiClient(k8s.configuration()) as api:
        await create(CoreV1Api(api), pod_manifest("term", SLEEP))
        await wait_pod(api, "term", lambda p: phase(p) == "Running")
    async with WsApiClient(k8s.configuration()) as ws_api:
        v1 = CoreV1Api(ws_api)
        for tty, expected in ((False, b"hello\n"), (True, b"hello\r\nhello\r\nyes\r\n")):
            script = "head -n 1; test -t 1 && echo yes || true"
            context: Any = await v1.connect_get_namespaced_pod_exec(
                "term",
                NS,
                command=["sh", "-c", script],  # type: ignore[arg-type]
                stdin=True,
                stdout=True,
                stderr=True,
                tty=tty,
                _preload_content=False,
            )
            out, status = b"", b""
            async with context as ws:
                await ws.send_bytes(b"\x04" + json.dumps({"Width": 100, "Height": 30}).encode())
                await ws.send_bytes(b"\x00hello\n")
                async for message in ws:
                    channel, data = message.data[0], message.data[1:]
                    out += data if channel == STDOUT_CHANNEL else b""
                    status += data if channel == ERROR_CHANNEL else b""
            # With a TTY the terminal echoes the input and writes CRLF.
            assert out == expected, tty
            assert WsApiClient.parse_error_data(status) == 0


async def test_exec_into_a_pod_that_is_not_running(k8s: KubernetesEmulator) -> None:
    async with ApiClient(k8s.configuration()) as api:
        await create(CoreV1Api(api), pod_manifest("done", ["true"]))
        await wait_pod(api, "done", lambda p: phase(p) == "Succeeded")
    async with WsApiClient(k8s.configuration()) as ws_api:
        for name, status in (("done", 400), ("absent", 404)):
            with pytest.raises(Exception) as refused:
                await exec_frames(ws_api, name, ["true"])
            assert getattr(refused.value, "status", None) == status


async def test_delete_sends_sigterm_then_the_pod_is_deleted(
    k8s_api: ApiClient, tmp_path: Path
) -> None:
    v1 = CoreV1Api(k8s_api)
    marker = tmp_path / "terminated"
    code = (
        "import signal, sys, time, pathlib\n"
        f"def bye(*_):\n    pathlib.Path({str(marker)!r}).write_text('TERM')\n    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\nprint('ready')\ntime.sleep(60)"
    )
    created = await create(v1, python_pod("graceful", code))
    await wait_pod(k8s_api, "graceful", lambda p: phase(p) == "Running")

    async def handler_set() -> bool:
        return "ready" in await v1.read_namespaced_pod_log("graceful", NS)

    await wait_for(handler_set)
    rv = created.metadata.resource_version
    deleted = await v1.delete_namespaced_pod("graceful", NS, grace_period_seconds=10)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 10
    events = []
    async with Watch() as watch:
        stream = watch.stream(v1.list_namespaced_pod, NS, resource_version=rv, timeout_seconds=10)
        async for event in stream:
            events.append((event["type"], event["raw_object"]))
            if event["type"] == "DELETED":
                break
    assert events[-1][0] == "DELETED"
    assert marker.read_text() == "TERM"
    final = events[-1][1]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert final["exitCode"] == 0
    assert events[-1][1]["status"]["phase"] == "Succeeded"
    reasons = [e.reason for e in await events_for(v1, "graceful")]
    assert "Killing" in reasons


async def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(
    k8s: KubernetesEmulator, k8s_api: ApiClient
) -> None:
    v1 = CoreV1Api(k8s_api)
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready')\ntime.sleep(60)"  # noqa: E501
    await create(v1, python_pod("stubborn", code))
    await wait_pod(k8s_api, "stubborn", lambda p: phase(p) == "Running")

    async def handler_set() -> bool:
        return "ready" in await v1.read_namespaced_pod_log("stubborn", NS)

    await wait_for(handler_set)
    [pid] = k8s.kubelet.processes()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await v1.delete_namespaced_pod("stubborn", NS, grace_period_seconds=1)

    async def gone() -> bool:
        try:
            await v1.read_namespaced_pod("stubborn", NS)
        except ApiException as error:
            return error.status == 404
        return False

    await wait_for(gone, 10)
    assert loop.time() - started >= 1.0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_active_deadline_fails_the_pod(k8s: KubernetesEmulator, k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("deadline", SLEEP, activeDeadlineSeconds=1))
    await wait_pod(k8s_api, "deadline", lambda p: phase(p) == "Running")
    pod = await wait_pod(k8s_api, "deadline", lambda p: phase(p) == "Failed")
    assert pod["status"]["reason"] == "DeadlineExceeded"
    assert (
        pod["status"]["message"] == "Pod was active on the node longer than the specified deadline"
    )
    assert container_state(pod)["terminated"]["exitCode"] == 143  # SIGTERM
    assert k8s.kubelet.processes() == []
    # A running pod's deadline can be set later (shortened); it counts from the pod's start.
    await create(v1, pod_manifest("later", SLEEP))
    await wait_pod(k8s_api, "later", lambda p: phase(p) == "Running")
    await v1.patch_namespaced_pod("later", NS, {"spec": {"activeDeadlineSeconds": 1}})
    pod = await wait_pod(k8s_api, "later", lambda p: phase(p) == "Failed")
    assert pod["status"]["reason"] == "DeadlineExceeded"


async def test_pod_metrics(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    code = "import time\nblob = bytearray(64 << 20)\nend = time.time() + 30\nwhile 1: pass"
    await create(v1, python_pod("busy", code))
    await wait_pod(k8s_api, "busy", lambda p: phase(p) == "Running")
    custom = CustomObjectsApi(k8s_api)
    await asyncio.sleep(0.3)  # let it burn some CPU time
    metrics = await custom.get_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", NS, "pods", "busy"
    )
    assert metrics["kind"] == "PodMetrics" and metrics["metadata"]["name"] == "busy"
    [usage] = [c["usage"] for c in metrics["containers"] if c["name"] == "main"]
    assert re.fullmatch(r"\d+n", usage["cpu"]) and int(usage["cpu"][:-1]) > 100_000_000
    assert re.fullmatch(r"\d+Ki", usage["memory"]) and int(usage["memory"][:-2]) > 64 << 10
    await create(v1, pod_manifest("queued", SLEEP, limits={"nvidia.com/gpu": "1"}))
    with pytest.raises(ApiException) as none:
        await custom.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", NS, "pods", "queued")
    assert none.value.status == 404


async def test_memory_limit_kills_with_oomkilled(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    code = "import time\nblob = bytearray(200 << 20)\nfor i in range(len(blob) // 4096): blob[i * 4096] = 1\ntime.sleep(30)"  # noqa: E501
    await create(v1, python_pod("hog", code, limits={"memory": "64Mi"}))
    pod = await wait_pod(k8s_api, "hog", lambda p: phase(p) == "Failed")
    terminated = container_state(pod)["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)


async def test_a_missing_executable_is_a_start_error(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("nocmd", ["no-such-binary-here"]))
    pod = await wait_pod(k8s_api, "nocmd", lambda p: phase(p) == "Failed")
    terminated = container_state(pod)["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("StartError", 128)
    assert "executable file not found in $PATH" in terminated["message"]


async def test_every_process_dies_with_the_emulator(tmp_path: Path) -> None:
    k8s = KubernetesEmulator(KubeletConfig(state_dir=tmp_path / "kubelet"))
    await k8s.start()
    async with ApiClient(k8s.configuration()) as api:
        v1 = CoreV1Api(api)
        # The child leaves the container's process group; teardown finds it all the same.
        code = "import os, subprocess, time\nsubprocess.Popen(['setsid', 'sleep', '60'])\ntime.sleep(60)"  # noqa: E501
        await create(v1, python_pod("lasting", code))
        await wait_pod(api, "lasting", lambda p: phase(p) == "Running")
        await asyncio.sleep(0.2)
    mark = k8s.kubelet.mark

    def marked() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get(k8s.kubelet.MARK) == mark and proc.status() != "zombie":
                    found.append(proc)
            except psutil.Error:
                pass
        return found

    assert len(marked()) >= 2
    await k8s.stop()
    await wait_for(lambda: not marked(), 5)
