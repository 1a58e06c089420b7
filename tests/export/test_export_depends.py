"""depends_on in the exports: Compose maps each condition; Kubernetes says it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from export_support import IMAGE

from gaia_runner.config import parse_config_text
from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, as_stream, export_kubernetes
from gaia_runner.export.systemd import STOP_MARGIN, export_systemd

pytestmark = pytest.mark.timeout(30)

TEXT = """
[apps.migrate]
command = ["python", "manage.py", "migrate"]
restart = "never"

[apps.worker]
command = ["python", "worker.py"]

[apps.api]
app = "app:app"
bind = "127.0.0.1:8001"
prestart = [["python", "check.py"]]
depends_on = { migrate = "completed" }

[apps.site]
app = "site:app"
bind = "127.0.0.1:8002"
depends_on = { api = "serving", worker = "serving", migrate = "started" }
"""


def config(tmp_path: Path) -> Any:
    return parse_config_text(TEXT, tmp_path / "gaia.toml", check_files=False).config


def test_compose_maps_each_condition(tmp_path: Path) -> None:
    services = yaml.safe_load(export_compose(config(tmp_path), IMAGE, {}))["services"]
    assert services["site"]["depends_on"] == {
        "api": {"condition": "service_healthy"},
        # a command app has no healthcheck: "serving" it is started, as in gaia
        "worker": {"condition": "service_started"},
        "migrate": {"condition": "service_started"},
    }
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "api-prestart-1": {"condition": "service_completed_successfully"},
    }
    assert "depends_on" not in services["worker"]


def test_kubernetes_says_deployments_are_not_ordered(tmp_path: Path) -> None:
    text = as_stream(export_kubernetes(config(tmp_path), KubeOptions(IMAGE), {}))
    assert "not mapped: site: depends_on api (serving), worker (serving), migrate (started)" in text
    assert "Kubernetes does not order Deployments" in text
    assert "initContainers" in text  # api's prestart is exported as before


def test_systemd_gives_each_step_of_the_stop_order_its_budget(tmp_path: Path) -> None:
    # site -> api -> migrate: three steps of 30 s, then the margin.
    unit = export_systemd(config(tmp_path), Path("/srv/.venv/bin/gaia"))
    assert f"TimeoutStopSec={3 * 30 + STOP_MARGIN}" in unit
