"""Kubernetes names and labels: two projects share a namespace, each object says whose it is,
and a selector picks exactly the pods of its own app and role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from export_support import IMAGE, Project, load_project, parse_all

from gaia_runner.export.kube_names import NAME_LIMIT, object_name
from gaia_runner.export.kubernetes import KubeOptions, Prestart, export_kubernetes

pytestmark = pytest.mark.timeout(60)

LABELS = ("name", "instance", "component", "part-of", "managed-by")


def project_in(tmp_path: Path, directory: str) -> Project:
    root = tmp_path / directory
    root.mkdir()
    (root / "main.py").write_text("async def app(scope, receive, send): pass\n")
    apps = {
        "web": {"app": "main:app", "bind": "127.0.0.1:8001", "workers": 2, "prestart": ["true"]},
        "worker": {"command": ["true"], "env": {"A": "1"}},
    }
    (root / "gaia.toml").write_text(tomli_w.dumps({"apps": apps}))
    return load_project(root / "gaia.toml")


def docs_of(found: Project, **options: Any) -> list[dict[str, Any]]:
    manifests = export_kubernetes(found.config, KubeOptions(IMAGE, **options), found.table_env)
    return [d for m in manifests for d in parse_all(m.text)]


def test_two_projects_in_one_namespace_share_no_object_name(tmp_path: Path) -> None:
    shop = docs_of(project_in(tmp_path, "shop"), prestart=Prestart.JOB)
    blog = docs_of(project_in(tmp_path, "blog"), prestart=Prestart.JOB)
    key = [(d["kind"], d["metadata"]["name"]) for d in shop]
    assert not set(key) & {(d["kind"], d["metadata"]["name"]) for d in blog}
    assert ("Deployment", "shop-web") in key and ("Job", "shop-web-prestart") in key
    # Selectors differ too: one project's Service never reaches the other's pods.
    selectors = [
        (d["spec"].get("selector") or {}).get("matchLabels", d["spec"].get("selector"))
        for d in [*shop, *blog]
        if d["kind"] in ("Deployment", "Service", "PodDisruptionBudget")
    ]
    assert all(s is not None for s in selectors)
    shop_sel = {tuple(sorted(s.items())) for s in selectors[: len(selectors) // 2]}
    blog_sel = {tuple(sorted(s.items())) for s in selectors[len(selectors) // 2 :]}
    assert not shop_sel & blog_sel


def test_every_object_and_pod_carries_the_recommended_labels(tmp_path: Path) -> None:
    docs = docs_of(project_in(tmp_path, "shop"), prestart=Prestart.JOB, project="Shop Front")
    components = {}
    for doc in docs:
        for labels in (
            doc["metadata"]["labels"],
            doc.get("spec", {}).get("template", {}).get("metadata", {}).get("labels"),
        ):
            if labels is None:
                continue
            assert [k.removeprefix("app.kubernetes.io/") for k in labels] == list(LABELS)
            assert labels["app.kubernetes.io/part-of"] == "shop-front"
            assert labels["app.kubernetes.io/managed-by"] == "gaia"
        components[doc["kind"], doc["metadata"]["name"]] = doc["metadata"]["labels"][
            "app.kubernetes.io/component"
        ]
    assert components["Deployment", "shop-front-web"] == "web"
    assert components["Deployment", "shop-front-worker"] == "worker"
    assert components["Job", "shop-front-web-prestart"] == "migration"


def test_the_service_selects_the_web_pods_not_the_migration_job(tmp_path: Path) -> None:
    docs = docs_of(project_in(tmp_path, "shop"), prestart=Prestart.JOB)
    service = next(d for d in docs if d["kind"] == "Service")
    pods = {
        d["kind"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in ("Deployment", "Job") and "web" in d["metadata"]["name"]
    }
    selector = service["spec"]["selector"].items()
    assert selector <= pods["Deployment"].items()
    assert not selector <= pods["Job"].items()


def test_long_names_are_cut_and_stay_distinct() -> None:
    a = object_name("p" * 40, "a" * 40 + "-one")
    b = object_name("p" * 40, "a" * 40 + "-two")
    assert len(a) <= NAME_LIMIT and len(b) <= NAME_LIMIT and a != b
    assert object_name("My Shop", "my_api") == "my-shop-my-api"
