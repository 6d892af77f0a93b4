"""The emulator's etcd: objects, one resourceVersion counter, a bounded watch history.

Every write bumps the global counter (as etcd's revision does), stamps it on
the object and appends a watch event to the history. Watchers get the events
in order; a watch from a resourceVersion older than the history is answered
with 410 Expired, so clients relist. In-process listeners (the kubelet and
the scheduler) see the same events, after the watchers.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .selectors import FieldSelector, LabelSelector, rfc3339

__all__ = ["KINDS", "ApiError", "Store", "WatchEvent", "Watcher", "status_body"]

Obj = dict[str, Any]

# resource -> (kind, namespaced)
KINDS: dict[str, tuple[str, bool]] = {
    "pods": ("Pod", True),
    "events": ("Event", True),
    "nodes": ("Node", False),
}


def status_body(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    """A ``Status`` object as the API server writes errors."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    """An error answered as a ``Status`` with ``code`` (404 NotFound, 409 AlreadyExists...)."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def body(self) -> Obj:
        """The ``Status`` JSON."""
        return status_body(self.code, self.reason, self.message, self.details)

    @classmethod
    def not_found(cls, resource: str, name: str) -> ApiError:
        """``pods "x" not found``."""
        return cls(
            404,
            "NotFound",
            f'{resource} "{name}" not found',
            {"name": name, "kind": resource},
        )


@dataclass(frozen=True)
class WatchEvent:
    """One write: ``type`` ADDED/MODIFIED/DELETED, the object before and after."""

    rv: int
    type: str
    resource: str
    namespace: str
    old: Obj | None
    obj: Obj


@dataclass(eq=False)
class Watcher:
    """One open watch: its filters and the queue its events are put on (None ends it)."""

    resource: str
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: asyncio.Queue[tuple[str, Obj] | None] = field(default_factory=asyncio.Queue)

    def selects(self, obj: Obj | None) -> bool:
        """Whether ``obj`` passes this watch's namespace and selectors."""
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(obj)

    def offer(self, event: WatchEvent) -> None:
        """Queue ``event`` as this watch sees it.

        An object that starts or stops matching the selectors is ADDED or
        DELETED here, as the API server's watch cache does.
        """
        if event.resource != self.resource:
            return
        before = self.selects(event.old) if event.type != "ADDED" else False
        after = self.selects(event.obj)
        if event.type == "DELETED":
            kind = "DELETED" if before or after else ""
        elif before and after:
            kind = "MODIFIED"
        elif after:
            kind = "ADDED"
        elif before:
            kind = "DELETED"
        else:
            kind = ""
        if kind:
            self.queue.put_nowait((kind, event.obj))


class Store:
    """Objects by resource, namespace and name; the only writer of resourceVersions."""

    def __init__(self, history_size: int = 1000) -> None:
        self.rv = 0
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {r: {} for r in KINDS}
        self.history: deque[WatchEvent] = deque()
        self.history_size = history_size
        self.compacted = 0  # watch events up to this resourceVersion are gone
        self.watchers: set[Watcher] = set()
        self.listeners: list[Callable[[WatchEvent], None]] = []

    # ---- reads -------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> Obj:
        """A copy of one object.

        Raises:
            ApiError: 404 when there is none.
        """
        obj = self.objects[resource].get((namespace, name))
        if obj is None:
            raise ApiError.not_found(resource, name)
        return copy.deepcopy(obj)

    def peek(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The stored object itself (not a copy) or None; callers must not change it."""
        return self.objects[resource].get((namespace, name))

    def list(
        self,
        resource: str,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
    ) -> list[Obj]:
        """Copies of the matching objects, ordered by namespace and name."""
        watcher = Watcher(
            resource, namespace, labels or LabelSelector(""), fields or FieldSelector("", "")
        )
        items = sorted(self.objects[resource].items())
        return [copy.deepcopy(obj) for _, obj in items if watcher.selects(obj)]

    # ---- writes ------------------------------------------------------------------------

    def _stamp(self, obj: Obj) -> int:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return self.rv

    def _emit(self, type_: str, resource: str, old: Obj | None, obj: Obj) -> None:
        event = WatchEvent(
            self.rv, type_, resource, obj["metadata"].get("namespace", ""), old, copy.deepcopy(obj)
        )
        self.history.append(event)
        while len(self.history) > self.history_size:
            self.compacted = self.history.popleft().rv
        for watcher in list(self.watchers):
            watcher.offer(event)
        for listener in list(self.listeners):
            listener(event)

    def create(self, resource: str, obj: Obj) -> Obj:
        """Store a new object: uid, resourceVersion, creationTimestamp; ADDED.

        Raises:
            ApiError: 409 AlreadyExists.
        """
        kind, namespaced = KINDS[resource]
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if namespaced else ""
        key = (namespace, meta["name"])
        if key in self.objects[resource]:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{resource} "{meta["name"]}" already exists',
                {"name": meta["name"], "kind": resource},
            )
        obj = {"kind": kind, "apiVersion": "v1", **obj}
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(time.time())
        self._stamp(obj)
        self.objects[resource][key] = obj
        self._emit("ADDED", resource, None, obj)
        return copy.deepcopy(obj)

    def update(
        self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]
    ) -> Obj:
        """Apply ``change`` to a copy of the object and store it; MODIFIED.

        Raises:
            ApiError: 404 when the object is gone; whatever ``change`` raises.
        """
        old = self.objects[resource].get((namespace, name))
        if old is None:
            raise ApiError.not_found(resource, name)
        new = copy.deepcopy(old)
        change(new)
        if new == old:
            return copy.deepcopy(old)
        self._stamp(new)
        self.objects[resource][(namespace, name)] = new
        self._emit("MODIFIED", resource, old, new)
        return copy.deepcopy(new)

    def remove(self, resource: str, namespace: str, name: str) -> Obj:
        """Delete the object now; DELETED carries a new resourceVersion.

        Raises:
            ApiError: 404 when the object is gone.
        """
        old = self.objects[resource].pop((namespace, name), None)
        if old is None:
            raise ApiError.not_found(resource, name)
        obj = copy.deepcopy(old)
        self._stamp(obj)
        self._emit("DELETED", resource, old, obj)
        return obj

    # ---- watches -----------------------------------------------------------------------

    def watch(self, watcher: Watcher, since: int | None) -> bool:
        """Open ``watcher``: replay what it missed and register it, with no gap.

        ``since`` None (or 0) replays the current objects as ADDED; a
        resourceVersion replays the history after it.

        Returns:
            False when ``since`` is older than the history (the caller answers 410).
        """
        if since:
            if since < self.compacted:
                return False
            for event in self.history:
                if event.rv > since:
                    watcher.offer(event)
        else:
            for obj in self.list(watcher.resource, watcher.namespace):
                if watcher.selects(obj):
                    watcher.queue.put_nowait(("ADDED", obj))
        self.watchers.add(watcher)
        return True

    def unwatch(self, watcher: Watcher) -> None:
        """Forget ``watcher``."""
        self.watchers.discard(watcher)

    def compact(self) -> None:
        """Drop the whole watch history: any older resourceVersion now gets 410."""
        self.history.clear()
        self.compacted = self.rv

    def end_watches(self) -> None:
        """End every open watch stream (as an API server restart does)."""
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(None)
