"""Every exported pod passes the Pod Security "restricted" profile, checked control by control
from the upstream table (kubernetes.io/docs/concepts/security/pod-security-standards), plus
gaia's own defaults beyond it."""

from __future__ import annotations

from typing import Any

import pytest
from export_support import Project, parse_all
from test_export_validate import KUBE_VARIANTS

from gaia_runner.export.kubernetes import export_kubernetes

pytestmark = pytest.mark.timeout(30)

ALLOWED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def pods(project: Project, variant: str) -> list[dict[str, Any]]:
    manifests = export_kubernetes(project.config, KUBE_VARIANTS[variant], project.table_env)
    docs = [d for m in manifests for d in parse_all(m.text)]
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]


@pytest.mark.parametrize("variant", sorted(KUBE_VARIANTS))
@pytest.mark.parametrize("which", ["root", "full"])
def test_every_container_passes_restricted(
    which: str, variant: str, root_project: Project, full: Project
) -> None:
    project = root_project if which == "root" else full
    found = pods(project, variant)
    assert found
    for pod in found:
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host)
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= ALLOWED_VOLUMES, volume
        # Beyond restricted, gaia's own defaults.
        assert pod["automountServiceAccountToken"] is False
        for box in pod.get("initContainers", []) + pod["containers"]:
            sc = box["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert not sc.get("privileged")
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert set(sc["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
            assert sc.get("runAsUser", 1) != 0
            assert sc["readOnlyRootFilesystem"] is True
            assert {"cpu", "memory"} <= set(box["resources"]["requests"])
            assert not any(p.get("hostPort") for p in box.get("ports", []))
            mounted = {m["mountPath"] for m in box["volumeMounts"]}
            assert "/tmp" in mounted  # gunicorn's heartbeat files, tempfile


def test_replicated_apps_get_a_budget_that_never_blocks_a_drain(full: Project) -> None:
    manifests = export_kubernetes(full.config, KUBE_VARIANTS["default"], full.table_env)
    docs = [d for m in manifests for d in parse_all(m.text)]
    budgets = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert set(budgets) == {"full-api", "full-jobs"}  # workers 3 and 2; site has 1
    for spec in budgets.values():
        assert spec == {"maxUnavailable": 1, "selector": spec["selector"]}
