"""`workers = { min, max }` in Kubernetes: with one server per pod, the cluster scales
pods instead of gaia scaling workers, by a HorizontalPodAutoscaler on CPU. CPU is not
gaia's own signal (the accept queue), which the export's note says."""

from __future__ import annotations

from typing import Any

from gaia_runner.config.model import AppConfig, RestartPolicy
from gaia_runner.export.mapping import ContainerRunner

# Every exported container requests CPU (an HPA on utilization does nothing without a
# request); the HPA adds pods at this share of it.
HPA_CPU_UTILIZATION = 70
HPA_NOTE = "{}: workers = {{ min, max }}; CPU is not gaia's own signal (the accept queue)"


def autoscaled(app: AppConfig, runner: ContainerRunner) -> bool:
    """With --runner gaia, gaia in the pod adapts its own workers; a Job is not scaled."""
    return (
        app.workers_range is not None
        and runner is ContainerRunner.SERVER
        and app.restart is not RestartPolicy.NEVER
    )


def autoscaler(app: AppConfig, name: str, meta: dict[str, Any]) -> dict[str, Any]:
    assert app.workers_range is not None
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    utilization = {"type": "Utilization", "averageUtilization": HPA_CPU_UTILIZATION}
    spec = {
        "scaleTargetRef": target,
        "minReplicas": app.workers_range.min,
        "maxReplicas": app.workers_range.max,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": utilization}}],
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": spec,
    }
