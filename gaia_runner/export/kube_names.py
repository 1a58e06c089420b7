"""Kubernetes object names and labels for an exported app.

Names are `<project>-<app>`, so two projects exported into one namespace never share an
object; the recommended `app.kubernetes.io/*` labels say which project, app and role an object
belongs to, and selectors use the ones that never change for an app.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

# Longest suffix gaia adds to an app's object name ("-env-file", "-prestart").
_SUFFIX = len("-env-file")
NAME_LIMIT = 63 - _SUFFIX  # Services and labels: DNS-1035/label names, at most 63
_HASH = 8

LABEL = "app.kubernetes.io/"
# What selects an app's pods: never the component's neighbours (a migration Job's pods carry
# the same name and instance) and nothing that may change between two exports.
SELECTOR_KEYS = ("name", "instance", "component")


class Component(StrEnum):
    WEB = "web"  # serves a port: Service, probes
    WORKER = "worker"  # a `command` app or one without a port
    MIGRATION = "migration"  # the prestart Job


def kube_name(value: str) -> str:
    """``value`` as a DNS-1035 label (lowercase letters, digits and `-`, starting with a
    letter), short enough for the suffixes gaia adds. `my_api` -> `my-api`, `Web` -> `web`,
    `2fa` -> `app-2fa`."""
    name = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    if not name[:1].isalpha():
        name = f"app-{name}".rstrip("-")
    return name[:NAME_LIMIT].rstrip("-")


def object_name(project: str, app: str) -> str:
    """`<project>-<app>`; when that is too long, cut, with a hash of the whole so two long
    names that share a beginning stay distinct."""
    full = f"{kube_name(project)}-{kube_name(app)}"
    if len(full) <= NAME_LIMIT:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH]
    return f"{full[: NAME_LIMIT - _HASH - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class Identity:
    """Who an object belongs to: the project, the app as written in gaia.toml, its role."""

    project: str
    app: str
    component: Component

    @property
    def name(self) -> str:
        return object_name(self.project, self.app)

    def labels(self) -> dict[str, str]:
        return {
            f"{LABEL}name": kube_name(self.app),
            f"{LABEL}instance": self.name,
            f"{LABEL}component": self.component.value,
            f"{LABEL}part-of": kube_name(self.project),
            f"{LABEL}managed-by": "gaia",
        }

    def selector(self) -> dict[str, str]:
        labels = self.labels()
        return {f"{LABEL}{key}": labels[f"{LABEL}{key}"] for key in SELECTOR_KEYS}

    def meta(self, suffix: str = "") -> dict[str, object]:
        # The app's name as written in gaia.toml, which may not be a valid object name.
        annotations = {"gaia/app": self.app}
        return {"name": self.name + suffix, "labels": self.labels(), "annotations": annotations}
