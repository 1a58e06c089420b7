"""Golden files: the exact output for the root gaia.toml and examples/full, per format.

Regenerate after an intended change with `GAIA_REGEN_GOLDEN=1 pytest tests/export`, then
review the diff: it is the change users will see in their committed manifests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from export_support import IMAGE, Project

from gaia_runner.export.compose import export_compose
from gaia_runner.export.dockerfile import export_dockerfile
from gaia_runner.export.kubernetes import KubeOptions, as_stream, export_kubernetes

GOLDEN = Path(__file__).parent / "golden"
pytestmark = pytest.mark.timeout(60)


def render(project: Project, fmt: str, name: str | None = None) -> str:
    if fmt == "kubernetes.yaml":
        opts = KubeOptions(IMAGE, project=name)
        return as_stream(export_kubernetes(project.config, opts, project.table_env))
    if fmt == "compose.yaml":
        return export_compose(project.config, IMAGE, project.table_env)
    has_requirements = (project.root / "requirements.txt").is_file()
    return export_dockerfile(project.config, has_requirements)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GAIA_REGEN_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with GAIA_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} changed; GAIA_REGEN_GOLDEN=1 to accept"


@pytest.mark.parametrize("fmt", ["kubernetes.yaml", "compose.yaml", "Dockerfile"])
def test_root_config_golden(root_project: Project, fmt: str) -> None:
    # The root project's directory is named after whichever checkout runs the test.
    check_golden(f"root.{fmt}", render(root_project, fmt, name="gaia"))


@pytest.mark.parametrize("fmt", ["kubernetes.yaml", "compose.yaml", "Dockerfile"])
def test_full_example_golden(full: Project, fmt: str) -> None:
    check_golden(f"full.{fmt}", render(full, fmt))


@pytest.mark.parametrize("fmt", ["kubernetes.yaml", "compose.yaml", "Dockerfile"])
def test_output_is_deterministic(full: Project, fmt: str) -> None:
    assert render(full, fmt) == render(full, fmt)
