"""`workers = { min, max }` exported: Kubernetes gets a HorizontalPodAutoscaler (and a
Deployment without `replicas`, so an apply does not fight it), Compose `min` replicas
with a note; both pass the real validators."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_support import IMAGE, by_kind, parse_all
from test_export_validate import KUBE_VERSIONS, assert_compose_valid, assert_kubernetes_valid

from gaia_runner.config import load_config
from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, as_stream, export_kubernetes
from gaia_runner.export.mapping import ContainerRunner

pytestmark = pytest.mark.timeout(120)

CONFIG = """
[apps.web]
app = "main:app"
worker_class = "sync"
bind = "0.0.0.0:8000"
workers = { min = 2, max = 6 }
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text("def app(environ, start_response):\n    return []\n")
    (tmp_path / "gaia.toml").write_text(CONFIG)
    return tmp_path / "gaia.toml"


def test_kubernetes_maps_a_range_to_an_hpa(tmp_path: Path) -> None:
    config = load_config(project(tmp_path)).config
    manifests = export_kubernetes(config, KubeOptions(IMAGE, project="shop"), {})
    docs = parse_all(as_stream(manifests))
    hpa = by_kind(docs, "HorizontalPodAutoscaler", "shop-web")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop-web"}  # fmt: skip
    deployment = by_kind(docs, "Deployment", "shop-web")
    assert "replicas" not in deployment["spec"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["cpu"]  # what utilization is measured against
    assert "CPU is not gaia's own signal" in next(
        m.text for m in manifests if "deployment" in m.filename
    )

    out = tmp_path / "out"
    out.mkdir()
    for manifest in manifests:
        (out / manifest.filename).write_text(manifest.text)
    for version in KUBE_VERSIONS:
        assert_kubernetes_valid(out, version)


def test_with_gaia_in_the_pod_gaia_adapts_and_there_is_no_hpa(tmp_path: Path) -> None:
    config = load_config(project(tmp_path)).config
    manifests = export_kubernetes(
        config, KubeOptions(IMAGE, runner=ContainerRunner.GAIA, project="shop"), {}
    )
    docs = parse_all(as_stream(manifests))
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert by_kind(docs, "Deployment", "shop-web")["spec"]["replicas"] == 1


def test_compose_runs_min_replicas_with_a_note(tmp_path: Path) -> None:
    config = load_config(project(tmp_path)).config
    text = export_compose(config, IMAGE, {}, ContainerRunner.SERVER)
    (service,) = parse_all(text)[0]["services"].values()
    assert service["deploy"]["replicas"] == 2
    assert "2 replicas (min) in Compose, which has no autoscaler" in text
    (tmp_path / "compose.yaml").write_text(text)
    assert_compose_valid(tmp_path / "compose.yaml", tmp_path)
