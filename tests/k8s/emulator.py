"""A Kubernetes API server over HTTP for kubernetes_asyncio, with a simulated kubelet.

Serves what a jobs backend calls (core/v1 pods, their ``log``, ``exec`` and
``status``; events; nodes; namespaces; metrics.k8s.io PodMetrics; discovery)
with the API's semantics: resourceVersions from one counter, label and field
selectors, watches from a resourceVersion with 410 Expired when it is too old,
graceful deletion, Status errors. Every request is recorded, so tests and
benchmarks can count what a client costs.

    async with KubernetesEmulator() as k8s:
        async with ApiClient(k8s.configuration()) as api:
            ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web
from kubernetes_asyncio.client import Configuration

from .discovery import DISCOVERY
from .kubelet import Kubelet, KubeletConfig, Node
from .pods import apply_patch, check_update, default_pod, validate_pod
from .selectors import BadRequest, FieldSelector, LabelSelector, parse_bool, rfc3339
from .store import KINDS, ApiError, Store, Watcher, status_body
from .streams import serve_exec, serve_log

__all__ = ["KubernetesEmulator", "RecordedRequest"]

Obj = dict[str, Any]


@dataclass
class RecordedRequest:
    """One request the emulator served (``status`` is set once the answer starts)."""

    method: str
    path: str
    query: dict[str, str]
    watch: bool
    time: float = field(default_factory=time.time)
    status: int = 0
    open: bool = False  # a watch still streaming


RECORD = web.RequestKey("record", RecordedRequest)


def _strip(obj: Obj) -> Obj:
    """A list item: the API leaves out each item's kind and apiVersion."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


class KubernetesEmulator:
    """The API server, scheduler and kubelet of a one-machine cluster, on 127.0.0.1.

    Args:
        config: nodes, missing images, timings (see :class:`KubeletConfig`).
        token: the bearer token clients must send (a random one by default).
        history_size: how many watch events are kept (older resourceVersions get 410).
        bookmark_interval: seconds between BOOKMARK events on watches that allow them.
    """

    def __init__(
        self,
        config: KubeletConfig | None = None,
        *,
        token: str | None = None,
        history_size: int = 1000,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.store = Store(history_size)
        self.kubelet = Kubelet(self.store, config or KubeletConfig())
        self.token = token or secrets.token_urlsafe(16)
        self.bookmark_interval = bookmark_interval
        self.requests: list[RecordedRequest] = []
        self.posted_pods: list[Obj] = []  # as clients sent them (for schema checks)
        self.max_open_watches = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    # ---- life ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start the kubelet and serve the API on ``host:port`` (a free port by default)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 << 20)
        self._routes(app.router)
        self.kubelet.start()
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"

    async def stop(self) -> None:
        """End the watches, kill every container process, stop serving."""
        self.store.end_watches()
        await self.kubelet.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KubernetesEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---- for tests -----------------------------------------------------------------------

    def configuration(self) -> Configuration:
        """A kubernetes_asyncio Configuration for this API server (token included)."""
        config = Configuration(host=self.url)
        config.api_key = {"BearerToken": self.token}
        config.api_key_prefix = {"BearerToken": "Bearer"}
        return config

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        """Write a kubeconfig for this API server (context ``emulator``) to ``path``."""
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
                    "users": [{"name": "emulator", "user": {"token": self.token}}],
                    "contexts": [
                        {
                            "name": "emulator",
                            "context": {
                                "cluster": "emulator",
                                "user": "emulator",
                                "namespace": namespace,
                            },
                        }
                    ],
                    "current-context": "emulator",
                }
            )
        )
        return path

    def count(
        self, method: str | None = None, path: str | None = None, watch: bool | None = None
    ) -> int:
        """How many requests matched: ``method``, ``path`` (a substring) and watch or not."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or path in r.path)
            and (watch is None or r.watch == watch)
        )

    @property
    def open_watches(self) -> list[RecordedRequest]:
        """The watch requests streaming now."""
        return [r for r in self.requests if r.open]

    def reset_requests(self) -> None:
        """Forget the finished requests (open watches stay counted as open)."""
        self.requests = [r for r in self.requests if r.open]

    def compact(self) -> None:
        """Drop the watch history: watching from any older resourceVersion gets 410."""
        self.store.compact()

    def end_watches(self) -> None:
        """End every open watch stream, as an API server restart does."""
        self.store.end_watches()

    def add_node(self, node: Node) -> None:
        """Add a node to the cluster (pending pods are scheduled again)."""
        self.kubelet.add_node(node)

    # ---- HTTP plumbing -------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        query = dict(request.query)
        watch = query.get("watch", "") in ("1", "t", "T", "true", "TRUE", "True")
        record = RecordedRequest(request.method, request.path, query, watch)
        self.requests.append(record)
        request[RECORD] = record
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            record.status = 401
            return web.json_response(status_body(401, "Unauthorized", "Unauthorized"), status=401)
        try:
            response: web.StreamResponse = await handler(request)
        except ApiError as error:
            response = web.json_response(error.body(), status=error.code)
        except BadRequest as error:
            response = web.json_response(status_body(400, "BadRequest", str(error)), status=400)
        except json.JSONDecodeError as error:
            body = status_body(
                400, "BadRequest", f"couldn't get version/kind; json parse error: {error}"
            )
            response = web.json_response(body, status=400)
        record.status = response.status
        return response

    def _routes(self, router: web.UrlDispatcher) -> None:
        ns_pod = "/api/v1/namespaces/{namespace}/pods/{name}"
        for path in DISCOVERY:  # clients ask with and without the trailing slash
            router.add_get(path, self._discovery)
            router.add_get(f"{path}/", self._discovery)
        router.add_get("/api", self._api_versions)
        router.add_get("/api/", self._api_versions)
        router.add_get(f"{ns_pod}/log", self._log)
        router.add_route("*", f"{ns_pod}/exec", self._exec)
        router.add_get(f"{ns_pod}/status", self._item)
        router.add_get(
            "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}", self._metrics
        )
        router.add_get(
            "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods", self._metrics_list
        )
        router.add_route("*", "/api/v1/namespaces/{namespace}/{resource}/{name}", self._item)
        router.add_route("*", "/api/v1/namespaces/{namespace}/{resource}", self._collection)
        router.add_get("/api/v1/namespaces/{name}", self._namespace)
        router.add_route("*", "/api/v1/{resource}/{name}", self._item)
        router.add_route("*", "/api/v1/{resource}", self._collection)
        router.add_route("*", "/{tail:.*}", self._not_found)

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(DISCOVERY[request.path.rstrip("/")])

    async def _log(self, request: web.Request) -> web.StreamResponse:
        return await serve_log(request, self.kubelet)

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        return await serve_exec(request, self.kubelet)

    async def _not_found(self, request: web.Request) -> web.Response:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    async def _api_versions(self, request: web.Request) -> web.Response:
        address = self.url.removeprefix("http://")
        return web.json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": address}
                ],
            }
        )

    async def _namespace(self, request: web.Request) -> web.Response:
        # Namespaces exist implicitly: any name is an Active namespace.
        name = request.match_info["name"]
        return web.json_response(
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    @staticmethod
    def _where(request: web.Request) -> tuple[str, str | None]:
        resource = request.match_info["resource"]
        if resource not in KINDS:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = request.match_info.get("namespace")
        if namespace is None and KINDS[resource][1] and "name" in request.match_info:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return resource, namespace

    @staticmethod
    async def _json(request: web.Request) -> Any:
        raw = await request.read()
        return json.loads(raw) if raw.strip() else None

    # ---- collections ---------------------------------------------------------------------

    async def _collection(self, request: web.Request) -> web.StreamResponse:
        resource, namespace = self._where(request)
        q = request.query
        labels = LabelSelector(q.get("labelSelector"))
        fields = FieldSelector(q.get("fieldSelector"), resource)
        if request.method == "GET":
            if parse_bool(q.get("watch", "false"), "watch"):
                return await self._watch(request, Watcher(resource, namespace, labels, fields))
            return web.json_response(self._list(resource, namespace, labels, fields, q))
        if request.method == "POST" and namespace is not None and resource != "nodes":
            body = await self._json(request)
            return web.json_response(self._create(resource, namespace, body), status=201)
        if request.method == "DELETE" and namespace is not None and resource == "pods":
            deleted = [
                self._delete_pod(namespace, pod["metadata"]["name"], q, None)
                for pod in self.store.list(resource, namespace, labels, fields)
            ]
            kind = KINDS[resource][0]
            return web.json_response(
                {
                    "kind": f"{kind}List",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": [_strip(p) for p in deleted],
                }
            )
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _list(
        self,
        resource: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        q: Any,
    ) -> Obj:
        items = self.store.list(resource, namespace, labels, fields)
        meta: Obj = {"resourceVersion": str(self.store.rv)}
        if token := q.get("continue"):
            try:
                start = json.loads(base64.urlsafe_b64decode(token))["start"]
            except (ValueError, KeyError) as error:
                raise BadRequest(f"continue key is not valid: {error}") from error
            items = [
                i
                for i in items
                if [i["metadata"].get("namespace", ""), i["metadata"]["name"]] > start
            ]
        limit = int(q.get("limit", 0) or 0)
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            start = [last.get("namespace", ""), last["name"]]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"start": start}).encode()
            ).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        kind = KINDS[resource][0]
        return {
            "kind": f"{kind}List",
            "apiVersion": "v1",
            "metadata": meta,
            "items": [_strip(i) for i in items],
        }

    def _create(self, resource: str, namespace: str, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not an object")
        meta = body.setdefault("metadata", {})
        if meta.get("resourceVersion"):
            raise ApiError(
                400, "BadRequest", "resourceVersion should not be set on objects to be created"
            )
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        if resource == "pods":
            self.posted_pods.append(copy.deepcopy(body))
            validate_pod(body, namespace)
            default_pod(body)
        else:
            meta["namespace"] = namespace
            if not meta.get("name"):
                raise ApiError(
                    422,
                    "Invalid",
                    f'{KINDS[resource][0]} "" is invalid: metadata.name: Required value',
                )
        return self.store.create(resource, body)

    async def _watch(self, request: web.Request, watcher: Watcher) -> web.StreamResponse:
        q = request.query
        rv = q.get("resourceVersion") or "0"
        if not rv.isdigit():
            raise BadRequest(f'invalid resource version "{rv}"')
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        bookmarks = parse_bool(q.get("allowWatchBookmarks", "false"), "allowWatchBookmarks")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        record = request[RECORD]
        if not self.store.watch(watcher, int(rv)):
            oldest = self.store.compacted + 1
            error = status_body(410, "Expired", f"too old resource version: {rv} ({oldest})")
            await response.write(json.dumps({"type": "ERROR", "object": error}).encode() + b"\n")
            return response
        record.status, record.open = 200, True
        self.max_open_watches = max(self.max_open_watches, len(self.open_watches))
        try:
            await self._stream(response, watcher, timeout, bookmarks)
        finally:
            self.store.unwatch(watcher)
            record.open = False
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _stream(
        self, response: web.StreamResponse, watcher: Watcher, timeout: float | None, bookmarks: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout if timeout is not None else None
        kind = KINDS[watcher.resource][0]
        while True:
            wait = self.bookmark_interval if bookmarks else None
            if end is not None:
                left = end - loop.time()
                if left <= 0:
                    return
                wait = left if wait is None else min(wait, left)
            try:
                item = await asyncio.wait_for(watcher.queue.get(), wait)
            except asyncio.TimeoutError:
                if bookmarks and (end is None or loop.time() < end):
                    mark = {
                        "kind": kind,
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(self.store.rv)},
                    }
                    await response.write(
                        json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n"
                    )
                continue
            lines = []
            while item is not None:  # everything queued goes out in one write
                lines.append(json.dumps({"type": item[0], "object": item[1]}).encode() + b"\n")
                if watcher.queue.empty():
                    break
                item = watcher.queue.get_nowait()
            try:
                if lines:
                    await response.write(b"".join(lines))
            except ConnectionResetError:
                return
            if item is None:
                return

    # ---- items ---------------------------------------------------------------------------

    async def _item(self, request: web.Request) -> web.StreamResponse:
        if "resource" not in request.match_info:  # .../pods/{name}/status
            resource, ns = "pods", request.match_info["namespace"]
        else:
            resource, namespace = self._where(request)
            ns = namespace or ""
        name = request.match_info["name"]
        if request.method == "GET":
            return web.json_response(self.store.get(resource, ns, name))
        if resource == "pods" and request.method in ("PATCH", "PUT"):
            body = await self._json(request)
            old = self.store.get(resource, ns, name)
            if request.method == "PATCH":
                body = apply_patch(old, request.headers.get("Content-Type", ""), body)
            elif not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was not a Pod object")
            new = check_update(old, body)

            def replace(obj: Obj) -> None:
                obj.clear()
                obj.update(new)

            return web.json_response(self.store.update(resource, ns, name, replace))
        if request.method == "DELETE" and resource == "pods":
            return web.json_response(
                self._delete_pod(ns, name, request.query, await self._json(request))
            )
        if request.method == "DELETE" and resource == "events":
            self.store.remove(resource, ns, name)
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "kind": resource},
                }
            )
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _delete_pod(self, namespace: str, name: str, q: Any, options: Any) -> Obj:
        """Graceful deletion: terminal or unscheduled pods (or grace 0) go at once."""
        options = options if isinstance(options, dict) else {}
        pod = self.store.get("pods", namespace, name)
        want_uid = (options.get("preconditions") or {}).get("uid")
        if want_uid and want_uid != pod["metadata"]["uid"]:
            raise ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {want_uid}, "
                f"UID in object meta: {pod['metadata']['uid']}",
            )
        grace_text = q.get("gracePeriodSeconds")
        grace = int(grace_text) if grace_text is not None else options.get("gracePeriodSeconds")
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if (
            grace <= 0
            or not pod["spec"].get("nodeName")
            or pod["status"].get("phase") in ("Succeeded", "Failed")
        ):
            return self.store.remove("pods", namespace, name)
        current = pod["metadata"].get("deletionGracePeriodSeconds")
        if current is not None and current <= grace:
            return pod

        def mark(obj: Obj) -> None:
            obj["metadata"]["deletionTimestamp"] = rfc3339(time.time() + grace)
            obj["metadata"]["deletionGracePeriodSeconds"] = grace

        return self.store.update("pods", namespace, name, mark)

    # ---- metrics -------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        info = request.match_info
        return web.json_response(self.kubelet.pod_metrics(info["namespace"], info["name"]))

    async def _metrics_list(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        labels = LabelSelector(request.query.get("labelSelector"))
        items = []
        for pod in self.store.list("pods", namespace, labels):
            with contextlib.suppress(ApiError):
                items.append(self.kubelet.pod_metrics(namespace, pod["metadata"]["name"]))
        return web.json_response(
            {
                "kind": "PodMetricsList",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {},
                "items": items,
            }
        )
