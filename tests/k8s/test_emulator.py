"""The emulator answers kubernetes_asyncio as an API server does: objects, selectors, watches.

The kubelet's side (processes, logs, exec, scheduling) is in test_kubelet.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import (
    ApiClient,
    Configuration,
    CoreApi,
    CoreV1Api,
    V1DeleteOptions,
    VersionApi,
)
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch

from .background import EmulatorThread
from .emulator import KubernetesEmulator
from .helpers import NS, create, phase, pod_manifest, python_pod, raw, wait_pod
from .kubelet import KubeletConfig

SLEEP = ["sleep", "30"]


def status_of(error: ApiException) -> dict[str, Any]:
    """The Status object of an API error."""
    body: dict[str, Any] = json.loads(error.body or b"{}")
    return body


async def test_discovery(k8s_api: ApiClient) -> None:
    version = await VersionApi(k8s_api).get_code()
    assert version.git_version == "v1.31.0"
    versions = await CoreApi(k8s_api).get_api_versions()
    assert versions.versions == ["v1"]
    resources = await CoreV1Api(k8s_api).get_api_resources()
    assert {"pods", "pods/log", "pods/exec", "events", "nodes"} <= {
        r.name for r in resources.resources
    }


async def test_create_sets_uid_resource_version_and_pending(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    first = await create(v1, pod_manifest("one", SLEEP))
    second = await create(v1, pod_manifest("two", SLEEP))
    assert first.metadata.uid != second.metadata.uid
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert first.metadata.creation_timestamp is not None
    assert first.metadata.namespace == NS
    assert first.status.phase == "Pending"
    # API defaults: restart policy kept, grace period and requests from limits filled in.
    assert first.spec.restart_policy == "Never"
    assert first.spec.termination_grace_period_seconds == 30
    got = await v1.read_namespaced_pod("one", NS)
    assert got.metadata.uid == first.metadata.uid
    generated = await create(v1, {**pod_manifest("", SLEEP), "metadata": {"generateName": "job-"}})
    assert generated.metadata.name.startswith("job-") and len(generated.metadata.name) == 9


async def test_errors_are_status_objects(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("taken", SLEEP))
    with pytest.raises(ApiException) as conflict:
        await create(v1, pod_manifest("taken", SLEEP))
    assert conflict.value.status == 409
    assert status_of(conflict.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as missing:
        await v1.read_namespaced_pod("nope", NS)
    assert missing.value.status == 404
    assert status_of(missing.value)["message"] == 'pods "nope" not found'
    bad = {"metadata": {"name": "bad"}, "spec": {"containers": []}}
    with pytest.raises(ApiException) as invalid:
        await create(v1, bad)
    status = status_of(invalid.value)
    assert invalid.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"] == 'Pod "bad" is invalid: spec.containers: Required value'
    assert status["details"]["causes"][0]["field"] == "spec.containers"
    gpu = pod_manifest("gpu", SLEEP)
    gpu["spec"]["containers"][0]["resources"] = {"requests": {"nvidia.com/gpu": "1"}}
    with pytest.raises(ApiException) as no_limit:
        await create(v1, gpu)
    assert (
        "Limit must be set for non overcommitable resources" in status_of(no_limit.value)["message"]
    )
    label = pod_manifest("label", SLEEP, labels={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(ApiException) as undecodable:
        await create(v1, label)
    assert undecodable.value.status == 400


async def test_list_with_label_and_field_selectors(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    for name, labels in [
        ("a", {"app": "neuro", "owner": "alice"}),
        ("b", {"app": "neuro", "owner": "bob"}),
        ("c", {"app": "other"}),
    ]:
        await create(v1, pod_manifest(name, SLEEP, labels=labels))
    await create(v1, pod_manifest("d", SLEEP, labels={"app": "neuro"}), namespace="elsewhere")

    async def names(**kwargs: Any) -> list[str]:
        result = await v1.list_namespaced_pod(NS, **kwargs)
        return [p.metadata.name for p in result.items]

    assert await names() == ["a", "b", "c"]
    assert await names(label_selector="app=neuro") == ["a", "b"]
    assert await names(label_selector="app==neuro,owner!=alice") == ["b"]
    assert await names(label_selector="owner in (alice, carol)") == ["a"]
    assert await names(label_selector="owner notin (alice)") == ["b", "c"]
    assert await names(label_selector="owner") == ["a", "b"]
    assert await names(label_selector="!owner") == ["c"]
    assert await names(field_selector="metadata.name=c") == ["c"]
    assert await names(field_selector="metadata.name!=c", label_selector="app=neuro") == ["a", "b"]
    everywhere = await v1.list_pod_for_all_namespaces(label_selector="app=neuro")
    assert sorted(p.metadata.name for p in everywhere.items) == ["a", "b", "d"]
    page = await v1.list_namespaced_pod(NS, limit=2)
    assert [p.metadata.name for p in page.items] == ["a", "b"]
    rest = await v1.list_namespaced_pod(NS, limit=2, _continue=page.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["c"]
    with pytest.raises(ApiException) as bad:
        await v1.list_namespaced_pod(NS, field_selector="spec.image=x")
    assert bad.value.status == 400
    assert status_of(bad.value)["message"] == 'field label not supported: "spec.image"'


async def test_list_resource_version_is_the_latest(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    created = await create(v1, pod_manifest("rv", SLEEP))
    listed = await v1.list_namespaced_pod(NS, label_selector="nothing=here")
    assert listed.items == []
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)


async def test_watch_from_resource_version_sees_the_lifecycle(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    start = (await v1.list_namespaced_pod(NS)).metadata.resource_version
    await create(v1, python_pod("life", "print('hi')", labels={"job": "x"}))
    await create(v1, pod_manifest("noise", SLEEP, labels={"job": "y"}))
    seen: list[tuple[str, str, str]] = []
    async with Watch() as watch:
        stream = watch.stream(
            v1.list_namespaced_pod, NS, label_selector="job=x", resource_version=start
        )
        async for event in stream:
            pod = event["object"]
            seen.append((event["type"], pod.metadata.name, pod.status.phase))
            if pod.status.phase == "Succeeded":
                terminated = pod.status.container_statuses[0].state.terminated
                assert terminated.exit_code == 0 and terminated.reason == "Completed"
                break
    assert seen[0] == ("ADDED", "life", "Pending")
    assert {name for _, name, _ in seen} == {"life"}
    phases = [p for _, _, p in seen]
    assert phases.index("Pending") < phases.index("Running") < phases.index("Succeeded")
    assert all(kind == "MODIFIED" for kind, _, _ in seen[1:])


async def test_watch_without_resource_version_starts_with_the_current_objects(
    k8s_api: ApiClient,
) -> None:
    v1 = CoreV1Api(k8s_api)
    await create(v1, pod_manifest("there", SLEEP))
    async with Watch() as watch:
        async for event in watch.stream(v1.list_namespaced_pod, NS, timeout_seconds=5):
            assert (event["type"], event["object"].metadata.name) == ("ADDED", "there")
            break


async def test_too_old_resource_version_is_410(k8s: KubernetesEmulator, k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    old = (await create(v1, pod_manifest("old", SLEEP))).metadata.resource_version
    await v1.patch_namespaced_pod("old", NS, {"metadata": {"labels": {"x": "y"}}})
    k8s.compact()
    with pytest.raises(ApiException) as expired:
        async with Watch() as watch:
            stream = watch.stream(
                v1.list_namespaced_pod, NS, resource_version=old, timeout_seconds=5
            )
            async for _ in stream:
                pass
    assert expired.value.status == 410
    # The raw stream: HTTP 200, then one ERROR event with an Expired Status.
    response = await raw(
        v1.list_namespaced_pod(NS, watch=True, resource_version=old, _preload_content=False)
    )
    line = await response.content.readline()
    response.release()
    event = json.loads(line)
    assert response.status == 200 and event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


async def test_bounded_history_expires_old_versions() -> None:
    async with (
        KubernetesEmulator(history_size=3) as small,
        ApiClient(small.configuration()) as api,
    ):
        v1 = CoreV1Api(api)
        old = (await create(v1, pod_manifest("h", SLEEP))).metadata
        for i in range(5):
            await v1.patch_namespaced_pod("h", NS, {"metadata": {"labels": {"i": str(i)}}})
        call = v1.list_namespaced_pod(
            NS, watch=True, resource_version=old.resource_version, _preload_content=False
        )
        response = await raw(call)
        event = json.loads(await response.content.readline())
        response.release()
        assert event["object"]["code"] == 410


async def test_watch_sees_objects_leave_and_enter_the_selector(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    start = (await v1.list_namespaced_pod(NS)).metadata.resource_version
    await create(v1, pod_manifest("mover", SLEEP, labels={"team": "a"}))
    await v1.patch_namespaced_pod("mover", NS, {"metadata": {"labels": {"team": "b"}}})
    await v1.patch_namespaced_pod("mover", NS, {"metadata": {"labels": {"team": "a"}}})
    kinds = []
    async with Watch() as watch:
        stream = watch.stream(
            v1.list_namespaced_pod,
            NS,
            label_selector="team=a",
            resource_version=start,
            timeout_seconds=5,
        )
        async for event in stream:
            if event["type"] != "MODIFIED":  # the scheduler and kubelet write too
                kinds.append(event["type"])
            if len(kinds) >= 3:
                break
    assert kinds == ["ADDED", "DELETED", "ADDED"]


async def test_watch_timeout_and_bookmarks() -> None:
    async with (
        KubernetesEmulator(bookmark_interval=0.1) as k8s,
        ApiClient(k8s.configuration()) as api,
    ):
        v1 = CoreV1Api(api)
        rv = (await v1.list_namespaced_pod(NS)).metadata.resource_version
        call = v1.list_namespaced_pod(
            NS,
            watch=True,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=1,
            _preload_content=False,
        )
        lines = (await (await raw(call)).read()).splitlines()  # ends after timeoutSeconds
        events = [json.loads(line) for line in lines]
        assert len(events) >= 2 and {e["type"] for e in events} == {"BOOKMARK"}
        assert int(events[-1]["object"]["metadata"]["resourceVersion"]) >= int(rv)


async def test_patch_merge_strategic_and_json(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    created = await create(
        v1, pod_manifest("p", SLEEP, labels={"a": "1", "b": "2"}, activeDeadlineSeconds=600)
    )
    patched = await v1.patch_namespaced_pod(
        "p", NS, {"metadata": {"labels": {"b": None, "c": "3"}, "annotations": {"n": "x"}}}
    )
    assert patched.metadata.labels == {"a": "1", "c": "3"}
    assert patched.metadata.annotations == {"n": "x"}
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)
    shorter = await v1.patch_namespaced_pod("p", NS, {"spec": {"activeDeadlineSeconds": 300}})
    assert shorter.spec.active_deadline_seconds == 300
    ops = [{"op": "add", "path": "/metadata/labels/d", "value": "4"}]
    json_patched = await v1.patch_namespaced_pod("p", NS, ops)
    assert json_patched.metadata.labels["d"] == "4"
    with pytest.raises(ApiException) as longer:  # a deadline can be shortened, never extended
        await v1.patch_namespaced_pod("p", NS, {"spec": {"activeDeadlineSeconds": 900}})
    assert longer.value.status == 422
    assert "must be less than or equal to previous value" in status_of(longer.value)["message"]
    with pytest.raises(ApiException) as forbidden:
        await v1.patch_namespaced_pod("p", NS, {"spec": {"restartPolicy": "Always"}})
    assert forbidden.value.status == 422
    assert "pod updates may not change fields" in status_of(forbidden.value)["message"]
    stale = {"metadata": {"resourceVersion": created.metadata.resource_version, "labels": {}}}
    with pytest.raises(ApiException) as conflict:
        await v1.patch_namespaced_pod("p", NS, stale)
    assert conflict.value.status == 409


async def test_delete_of_a_pending_pod_is_immediate(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    gpu = pod_manifest("waits", SLEEP, limits={"nvidia.com/gpu": "1"})
    await create(v1, gpu)
    await v1.delete_namespaced_pod("waits", NS, body=V1DeleteOptions(grace_period_seconds=30))
    with pytest.raises(ApiException) as gone:
        await v1.read_namespaced_pod("waits", NS)
    assert gone.value.status == 404
    with pytest.raises(ApiException) as again:
        await v1.delete_namespaced_pod("waits", NS)
    assert again.value.status == 404


async def test_delete_collection_by_label(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    for name in ("x1", "x2"):
        await create(v1, pod_manifest(name, ["true"], labels={"set": "x"}))
    await create(v1, pod_manifest("y1", ["true"]))
    await wait_pod(k8s_api, "x2", lambda p: phase(p) == "Succeeded")
    await v1.delete_collection_namespaced_pod(NS, label_selector="set=x")
    left = await v1.list_namespaced_pod(NS)
    assert [p.metadata.name for p in left.items] == ["y1"]


async def test_nodes_and_namespaces(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    nodes = await v1.list_node()
    assert [n.metadata.name for n in nodes.items] == ["node-1"]
    assert nodes.items[0].status.allocatable["cpu"] == "4"
    namespace = await v1.read_namespace("anything")
    assert namespace.status.phase == "Active"


async def test_requests_are_counted_and_watches_are_open(
    k8s: KubernetesEmulator, k8s_api: ApiClient
) -> None:
    v1 = CoreV1Api(k8s_api)
    k8s.reset_requests()
    await create(v1, python_pod("counted", "print(1)", labels={"c": "1"}))
    assert k8s.count() == 1 and k8s.count("POST", "/pods") == 1
    watching = asyncio.Event()
    done = asyncio.Event()

    async def watch_until_done() -> None:
        async with Watch() as watch:
            async for event in watch.stream(v1.list_namespaced_pod, NS, label_selector="c=1"):
                watching.set()
                if event["object"].status.phase == "Succeeded":
                    done.set()
                    return

    task = asyncio.create_task(watch_until_done())
    await asyncio.wait_for(done.wait(), 15)
    await task
    # The kubelet's work (scheduling, running, status writes) costs no requests.
    assert k8s.count() == 2 and k8s.count(watch=True) == 1
    assert k8s.max_open_watches == 1
    await asyncio.sleep(0)  # let the server see the watch close
    for _ in range(100):
        if not k8s.open_watches:
            break
        await asyncio.sleep(0.02)
    assert k8s.open_watches == []
    assert k8s.requests[1].query["labelSelector"] == "c=1"


async def test_kubeconfig_and_auth(k8s: KubernetesEmulator, k8s_kubeconfig: Path) -> None:
    configuration = Configuration()
    await kube_config.load_kube_config(
        config_file=str(k8s_kubeconfig), client_configuration=configuration
    )
    async with ApiClient(configuration) as api:
        pods = await CoreV1Api(api).list_namespaced_pod(NS)
        assert pods.items == []
    async with ApiClient(Configuration(host=k8s.url)) as anonymous:
        with pytest.raises(ApiException) as denied:
            await CoreV1Api(anonymous).list_namespaced_pod(NS)
    assert denied.value.status == 401


async def test_unknown_paths_are_404(k8s_api: ApiClient) -> None:
    v1 = CoreV1Api(k8s_api)
    with pytest.raises(ApiException) as unknown:
        await v1.list_namespaced_config_map(NS)
    assert unknown.value.status == 404


def test_an_emulator_in_a_thread_serves_a_client_of_another_thread(tmp_path: Path) -> None:
    """As a hub in another process reaches it: plain HTTP with the kubeconfig's token."""
    manifest = python_pod("hello", "import os; print('hi', os.environ['WHO'])", env={"WHO": "you"})
    with EmulatorThread(KubeletConfig(state_dir=tmp_path / "kubelet")) as k8s:
        headers = {"Authorization": f"Bearer {k8s.emulator.token}"}
        with httpx.Client(
            base_url=f"{k8s.emulator.url}/api/v1/namespaces/{NS}/", headers=headers
        ) as api:
            assert api.post("pods", json=manifest).status_code == 201
            deadline = time.monotonic() + 15
            while phase(api.get("pods/hello").json()) != "Succeeded":
                assert time.monotonic() < deadline, api.get("pods/hello").json()["status"]
                time.sleep(0.05)
            assert api.get("pods/hello/log").text == "hi you\n"
        assert k8s.call(lambda emulator: emulator.posted_pods) == [manifest]  # as sent
        assert k8s.call(lambda emulator: emulator.kubelet.errors) == []
