"""What an app behind the exported Ingress needs to see its clients as gaia's proxies show
them: the ingress controller terminates TLS and forwards plain HTTP with X-Forwarded-For and
X-Forwarded-Proto, which the server believes only from peers it trusts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gaia_runner.config.model import AppConfig, ClientAuth

# Where an ingress controller's pods live in most clusters: the private ranges CNIs take pod
# networks from (10.244.0.0/16, 10.42.0.0/16, 192.168.0.0/16, ...), and CGNAT space some use.
# A pod in the cluster can therefore set these headers too; narrow it with
# `--forwarded-allow-ips` to the controller's network when that matters.
INGRESS_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
)


def behind_ingress(app: AppConfig, given: Sequence[str] | None) -> AppConfig:
    """``app`` trusting the ingress's forwarded headers: the export's option, else the app's
    own `forwarded_allow_ips`, else the private networks above."""
    trusted = tuple(given) if given else app.forwarded_allow_ips or INGRESS_NETWORKS
    return dataclasses.replace(app, forwarded_allow_ips=trusted)


def ingress_notes(app: AppConfig, name: str) -> list[str]:
    """What the Ingress does not do for this app, said in the output."""
    if app.https is None or app.https.client_auth is ClientAuth.NONE:
        return []
    verify = "on" if app.https.client_auth is ClientAuth.REQUIRED else "optional"
    return [
        f"not mapped: {app.name}: client_auth = {app.https.client_auth.value} is not enforced "
        "by an Ingress (no standard field). With ingress-nginx, add the annotations "
        f"nginx.ingress.kubernetes.io/auth-tls-secret: NAMESPACE/{name}-ca (a Secret with "
        "ca.crt) and nginx.ingress.kubernetes.io/auth-tls-verify-client: "
        f"{verify}; or export with "
        "--tls app, where the server verifies client certificates itself"
    ]
