"""deploy/ingress/kubernetes/: ingress-nginx, Traefik and the job router they send to (issue 11).

The Kubernetes objects are checked against the schema (kubernetes-validate,
strict); Traefik's Middleware, a custom resource the schema does not know,
against the fields of Traefik's ForwardAuth. Both ingresses copy into the
request every answer header the router reads, and the router's nginx
configuration is one Debian's nginx accepts.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from neuro_jupyter.server.api import openapi_document
from tests.server.nginx import NGINX

from .schema import check_metadata, validate_strict

HERE = Path(__file__).parents[3] / "deploy" / "ingress" / "kubernetes"
FILES = sorted(path.name for path in HERE.glob("*.yaml"))

FORWARD_AUTH_FIELDS = {
    # Traefik v3 ForwardAuth (doc.traefik.io/traefik/middlewares/http/forwardauth/)
    "address", "tls", "trustForwardHeader", "authResponseHeaders", "authResponseHeadersRegex",
    "authRequestHeaders", "addAuthCookiesToResponse", "headerField", "forwardBody",
    "maxBodySize", "preserveLocationHeader", "preserveRequestMethod",
}  # fmt: skip


def objects(name: str) -> list[dict[str, Any]]:
    with open(HERE / name, encoding="utf-8") as file:
        return [obj for obj in yaml.safe_load_all(file) if obj is not None]


def one(name: str, kind: str) -> dict[str, Any]:
    [found] = [obj for obj in objects(name) if obj["kind"] == kind]
    return found


def router_reads() -> set[str]:
    """The X-Neuro-* headers the router's nginx configuration reads from the request."""
    conf = one("router.yaml", "ConfigMap")["data"]["default.conf"]
    return {m.replace("_", "-") for m in re.findall(r"\$http_(x_neuro_[a-z_]+)", conf)}


def test_the_files() -> None:
    assert FILES == ["ingress-nginx.yaml", "router.yaml", "traefik.yaml"]


@pytest.mark.parametrize("name", FILES)
def test_each_kubernetes_object_is_valid(name: str) -> None:
    for obj in objects(name):
        check_metadata(obj["metadata"])
        assert obj["metadata"]["namespace"] == "neuro-jupyter"
        if obj["apiVersion"].startswith("traefik.io/"):
            continue
        validate_strict(obj)


def test_the_traefik_middleware_is_a_forward_auth_that_trusts_no_visitor_header() -> None:
    middleware = one("traefik.yaml", "Middleware")
    assert middleware["apiVersion"] == "traefik.io/v1alpha1"
    auth = middleware["spec"]["forwardAuth"]
    assert set(auth) <= FORWARD_AUTH_FIELDS
    assert auth["address"].endswith("/neuro/api/v1/auth")
    assert auth["trustForwardHeader"] is False
    # Without the list, a visitor's X-Original-URI would reach Jupyter and win.
    assert set(auth["authRequestHeaders"]) == {"Cookie", "Authorization", "Accept"}
    ingress = one("traefik.yaml", "Ingress")
    metadata = middleware["metadata"]
    expected = f"{metadata['namespace']}-{metadata['name']}@kubernetescrd"
    assert ingress["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ] == (expected)


def test_both_ingresses_copy_every_header_the_router_reads_and_jupyter_sends() -> None:
    reads = router_reads()
    assert {"x-neuro-upstream", "x-neuro-cookie", "x-neuro-user"} <= reads
    nginx = one("ingress-nginx.yaml", "Ingress")["metadata"]["annotations"]
    copied = nginx["nginx.ingress.kubernetes.io/auth-response-headers"].split(",")
    traefik = one("traefik.yaml", "Middleware")["spec"]["forwardAuth"]["authResponseHeaders"]
    answer = openapi_document()["paths"]["/auth"]["get"]["responses"]["200"]["headers"]
    for headers in (copied, traefik):
        assert reads <= {h.lower() for h in headers} <= {name.lower() for name in answer}
    assert nginx["nginx.ingress.kubernetes.io/auth-url"].endswith("/neuro/api/v1/auth")


def test_both_ingresses_send_the_wildcard_job_host_to_the_router() -> None:
    service = one("router.yaml", "Service")
    for name in ("ingress-nginx.yaml", "traefik.yaml"):
        [rule] = one(name, "Ingress")["spec"]["rules"]
        assert rule["host"].startswith("*.")
        [path] = rule["http"]["paths"]
        assert path["backend"]["service"]["name"] == service["metadata"]["name"]


@pytest.mark.skipif(NGINX is None, reason="scripts/test installs nginx-light")
def test_nginx_accepts_the_routers_configuration(tmp_path: Path) -> None:
    conf = one("router.yaml", "ConfigMap")["data"]["default.conf"]
    (tmp_path / "default.conf").write_text(conf)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        "events {}\nhttp { include default.conf; }\n"
    )
    assert NGINX is not None
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
