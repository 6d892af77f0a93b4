"""What the API server does to a Pod before storing it: decoding, validation, defaults, patches.

Only the rules a jobs backend meets are here; each error has the API server's
code, reason and wording (400 for undecodable JSON, 422 Invalid for a bad
Pod, 409 Conflict for a stale resourceVersion).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from typing import Any

from .selectors import parse_quantity
from .store import ApiError

__all__ = [
    "apply_patch",
    "check_update",
    "default_pod",
    "pod_requests",
    "validate_pod",
]

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# Extended resources (GPUs) cannot be overcommitted: requests must equal limits.
_STANDARD = ("cpu", "memory", "ephemeral-storage")


def _decode_error(where: str, got: object, want: str) -> ApiError:
    kind = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(
        type(got), "value"
    )
    return ApiError(
        400,
        "BadRequest",
        f"json: cannot unmarshal {kind} into Go struct field {where} of type {want}",
    )


def _check_types(pod: Obj) -> None:
    """The JSON decoding errors a typed API server raises before validating (400)."""
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        raise _decode_error("Pod.metadata", meta, "v1.ObjectMeta")
    for key in ("labels", "annotations"):
        for value in (meta.get(key) or {}).values():
            if not isinstance(value, str):
                raise _decode_error(f"ObjectMeta.metadata.{key}", value, "string")
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or []:
        for key in ("command", "args"):
            for value in container.get(key) or []:
                if not isinstance(value, str):
                    raise _decode_error(f"Container.spec.containers.{key}", value, "string")
        for var in container.get("env") or []:
            if "value" in var and not isinstance(var["value"], str):
                raise _decode_error("EnvVar.spec.containers.env.value", var["value"], "string")
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and (isinstance(ads, bool) or not isinstance(ads, int)):
        raise _decode_error("PodSpec.spec.activeDeadlineSeconds", ads, "int64")


def _container_errors(i: int, container: Obj, seen: set[str]) -> list[tuple[str, str, str]]:
    path = f"spec.containers[{i}]"
    errors: list[tuple[str, str, str]] = []
    name = container.get("name")
    if not name:
        errors.append((f"{path}.name", "FieldValueRequired", "Required value"))
    elif not _LABEL.match(name) or len(name) > 63:
        errors.append(
            (f"{path}.name", "FieldValueInvalid", f'Invalid value: "{name}": {LABEL_RULE}')
        )
    elif name in seen:
        errors.append((f"{path}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
    seen.add(name or "")
    if not container.get("image"):
        errors.append((f"{path}.image", "FieldValueRequired", "Required value"))
    resources = container.get("resources") or {}
    amounts: dict[str, dict[str, Any]] = {}
    for section in ("requests", "limits"):
        for key, value in (resources.get(section) or {}).items():
            try:
                amounts.setdefault(section, {})[key] = parse_quantity(value)
            except ValueError:
                errors.append(
                    (
                        f"{path}.resources.{section}[{key}]",
                        "FieldValueInvalid",
                        f"Invalid value: {json.dumps(value)}: quantities must match the regular "
                        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    )
                )
    requests, limits = amounts.get("requests", {}), amounts.get("limits", {})
    for key, request in requests.items():
        limit = limits.get(key)
        if key in _STANDARD:
            if limit is not None and request > limit:
                errors.append(
                    (
                        f"{path}.resources.requests",
                        "FieldValueInvalid",
                        f'Invalid value: "{resources["requests"][key]}": must be less than or '
                        f"equal to {key} limit of {resources['limits'][key]}",
                    )
                )
        elif limit is None:
            errors.append(
                (
                    f"{path}.resources.limits",
                    "FieldValueRequired",
                    "Required value: Limit must be set for non overcommitable resources",
                )
            )
        elif request != limit:
            errors.append(
                (
                    f"{path}.resources.requests[{key}]",
                    "FieldValueInvalid",
                    f'Invalid value: "{resources["requests"][key]}": must be equal to {key} '
                    f"limit of {resources['limits'][key]}",
                )
            )
    return errors


def _invalid(name: str, errors: list[tuple[str, str, str]]) -> ApiError:
    texts = [f"{field}: {message}" for field, _, message in errors]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    causes = [
        {"reason": reason, "message": message, "field": field} for field, reason, message in errors
    ]
    return ApiError(
        422,
        "Invalid",
        f'Pod "{name}" is invalid: {summary}',
        {"name": name, "kind": "Pod", "causes": causes},
    )


def validate_pod(pod: Obj, namespace: str) -> None:
    """Check a Pod posted to ``namespace`` as the API server does; give it its name.

    A ``generateName`` becomes a name with 5 random characters.

    Raises:
        ApiError: 400 for undecodable fields or a namespace mismatch, 422 Invalid.
    """
    if not isinstance(pod, dict):
        raise ApiError(400, "BadRequest", "the body of the request was not a Pod object")
    _check_types(pod)
    meta = pod["metadata"]
    if meta.get("namespace", namespace) != namespace:
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    meta["namespace"] = namespace
    if not meta.get("name") and meta.get("generateName"):
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        meta["name"] = meta["generateName"] + "".join(secrets.choice(alphabet) for _ in range(5))
    name = meta.get("name") or ""
    errors: list[tuple[str, str, str]] = []
    if not name:
        errors.append(
            (
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            )
        )
    elif not _SUBDOMAIN.match(name) or len(name) > 253:
        errors.append(
            ("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {SUBDOMAIN_RULE}')
        )
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        errors.append(("spec.containers", "FieldValueRequired", "Required value"))
    seen: set[str] = set()
    for i, container in enumerate(containers):
        errors.extend(_container_errors(i, container, seen))
    policy = spec.get("restartPolicy", "Always")
    if policy not in ("Always", "OnFailure", "Never"):
        errors.append(
            (
                "spec.restartPolicy",
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "Always", "OnFailure", "Never"',
            )
        )
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and not 1 <= ads <= 2**31 - 1:
        errors.append(
            (
                "spec.activeDeadlineSeconds",
                "FieldValueInvalid",
                f"Invalid value: {ads}: must be between 1 and 2147483647, inclusive",
            )
        )
    if errors:
        raise _invalid(name, errors)


def _qos(containers: list[Obj]) -> str:
    any_set, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        any_set = any_set or bool(requests) or bool(limits)
        for key in ("cpu", "memory"):
            if key not in limits or requests.get(key) != limits[key]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def default_pod(pod: Obj) -> None:
    """The defaults and admission the API server adds to a new Pod (in place)."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        # DefaultTolerationSeconds admission
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    for container in spec["containers"]:
        image = container["image"]
        tag = image.rsplit("/", 1)[-1]
        latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        resources = container.setdefault("resources", {})
        limits = resources.get("limits") or {}
        if limits:
            requests = resources.setdefault("requests", {})
            for key, value in limits.items():
                requests.setdefault(key, value)
    pod["status"] = {"phase": "Pending", "qosClass": _qos(spec["containers"])}


def pod_requests(pod: Obj) -> dict[str, float]:
    """What the scheduler reserves for ``pod``: container requests summed, init max'ed."""
    total: dict[str, float] = {}
    spec = pod.get("spec", {})
    for container in spec.get("containers", []):
        for key, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[key] = total.get(key, 0.0) + float(parse_quantity(value))
    for container in spec.get("initContainers", []) or []:
        for key, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[key] = max(total.get(key, 0.0), float(parse_quantity(value)))
    return total


# ---- patches --------------------------------------------------------------------------

# Strategic merge: lists merged item by item on these keys (patchMergeKey in the API types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
}


def _merge(target: Any, patch: Any, strategic: bool) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif strategic and key in MERGE_KEYS and isinstance(value, list):
            result[key] = _merge_list(result.get(key) or [], value, MERGE_KEYS[key])
        else:
            result[key] = _merge(result.get(key), value, strategic)
    return result


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        index = next((i for i, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(copy.deepcopy(item))
        else:
            result[index] = _merge(result[index], item, True)
    return result


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _json_patch(obj: Obj, ops: list[Any]) -> Obj:
    result = copy.deepcopy(obj)
    for op in ops:
        parts = _pointer(op.get("path", ""))
        parent: Any = result
        try:
            for part in parts[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            last = parts[-1]
            kind = op.get("op")
            if kind == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent[last]
                if current != op.get("value"):
                    raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(index, copy.deepcopy(op["value"]))
                    else:
                        parent[index] = copy.deepcopy(op["value"])
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op["value"])
            else:
                raise ApiError(422, "Invalid", f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise ApiError(
                422,
                "Invalid",
                f"the server rejected our request due to an error in our request: {error}",
            ) from error
    return result


PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def apply_patch(obj: Obj, content_type: str, patch: Any) -> Obj:
    """``obj`` patched by a JSON patch, a merge patch or a strategic merge patch.

    Raises:
        ApiError: 415 for other patch types (server-side apply), 400/422 for bad patches.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind not in PATCH_TYPES:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}",
        )
    if kind == "application/json-patch+json":
        if not isinstance(patch, list):
            raise ApiError(
                400,
                "BadRequest",
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
            )
        return _json_patch(obj, patch)
    if not isinstance(patch, dict):
        raise ApiError(
            400,
            "BadRequest",
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        )
    return _merge(obj, patch, kind == "application/strategic-merge-patch+json")  # type: ignore[no-any-return]


_MUTABLE_SPEC = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)"
)


def check_update(old: Obj, new: Obj) -> Obj:
    """The Pod stored for an update of ``old`` to ``new`` (PATCH or PUT).

    System metadata and the status are kept (the status has its own subresource);
    the spec may change only where Kubernetes allows it.

    Raises:
        ApiError: 409 on a stale ``metadata.resourceVersion``, 422 Invalid/Forbidden.
    """
    name = old["metadata"]["name"]
    wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
        raise ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on pods "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            {"name": name, "kind": "pods"},
        )
    _check_types(new)
    result = copy.deepcopy(new)
    for key in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
        "generateName",
    ):
        if key in old["metadata"]:
            result["metadata"][key] = old["metadata"][key]
        else:
            result["metadata"].pop(key, None)
    result["status"] = copy.deepcopy(old["status"])
    result["kind"], result["apiVersion"] = "Pod", "v1"
    old_spec, new_spec = old["spec"], result.get("spec") or {}
    old_ads, new_ads = old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds")
    if new_ads is not None and not 0 <= new_ads <= 2**31 - 1:
        raise _invalid(
            name,
            [
                (
                    "spec.activeDeadlineSeconds",
                    "FieldValueInvalid",
                    f"Invalid value: {new_ads}: must be between 0 and 2147483647, inclusive",
                )
            ],
        )
    if new_ads is not None and old_ads is not None and new_ads > old_ads:
        raise _invalid(
            name,
            [
                (
                    "spec.activeDeadlineSeconds",
                    "FieldValueInvalid",
                    f"Invalid value: {new_ads}: must be less than or equal to previous value",
                )
            ],
        )
    if new_ads is None and old_ads is not None:
        raise _invalid(
            name,
            [
                (
                    "spec.activeDeadlineSeconds",
                    "FieldValueInvalid",
                    'Invalid value: "null": must not update from a positive integer to nil value',
                )
            ],
        )
    # Everything else in the spec must stay as it was (images aside).
    comparable = copy.deepcopy(new_spec)
    comparable["activeDeadlineSeconds"] = old_ads
    if old_ads is None:
        comparable.pop("activeDeadlineSeconds")
    old_containers = old_spec.get("containers", [])
    for old_c, new_c in zip(old_containers, comparable.get("containers") or [], strict=False):
        new_c["image"] = old_c.get("image")
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = comparable.get("tolerations") or []
    if new_tolerations[: len(old_tolerations)] == old_tolerations:
        comparable["tolerations"] = old_tolerations
    if comparable != old_spec:
        raise _invalid(name, [("spec", "FieldValueForbidden", f"Forbidden: {_MUTABLE_SPEC}")])
    return result
