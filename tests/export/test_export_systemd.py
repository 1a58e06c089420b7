"""`gaia export systemd`: the unit passes `systemd-analyze verify` with no warnings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from export_support import REPO
from harness import run_cli

pytestmark = pytest.mark.timeout(60)

PRIVILEGED = """\
[gaia]
stop_timeout = "40s"

[apps.web]
app = "hello:app"
bind = "0.0.0.0:443"
"""


def export_unit(config: Path, out: Path, *extra: str) -> Path:
    result = run_cli("export", "systemd", "-c", str(config), "-o", str(out), *extra, cwd=out)
    assert result.returncode == 0, result.stderr
    units = list(out.glob("*.service"))
    assert len(units) == 1, units
    return units[0]


def verify(unit: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (Debian package `systemd`)")
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == "", result.stdout + result.stderr


def test_root_config_unit_verifies(tmp_path: Path) -> None:
    unit = export_unit(REPO / "gaia.toml", tmp_path)
    text = unit.read_text()
    assert f"ExecStart={Path(sys.executable).parent}/gaia up -c {REPO}/gaia.toml" in text
    assert f"WorkingDirectory={REPO}" in text
    assert "KillMode=mixed" in text
    assert "TimeoutStopSec=25" in text  # stop_timeout 10s + 15 s margin
    assert f"ExecReload={Path(sys.executable).parent}/gaia reload -c {REPO}/gaia.toml" in text
    assert "Type=notify\n" in text and "WatchdogSec=30" in text
    assert "Restart=on-failure" in text
    assert "AmbientCapabilities" not in text and "User=" not in text
    verify(unit)


def test_privileged_port_and_user_unit_verifies(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "gaia.toml").write_text(PRIVILEGED)
    (project / "hello.py").write_text("app = None\n")
    unit = export_unit(project / "gaia.toml", tmp_path, "--user", "www-data")
    assert unit.name == "shop.service"
    text = unit.read_text()
    assert "User=www-data" in text
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in text
    assert "TimeoutStopSec=55" in text
    verify(unit)


@pytest.mark.parametrize("name", ['my proj %h $HOME "q" \\b'])
def test_a_project_path_systemd_would_expand_stays_as_written(tmp_path: Path, name: str) -> None:
    project = tmp_path / name
    project.mkdir()
    (project / "gaia.toml").write_text(PRIVILEGED.replace('bind = "0.0.0.0:443"', ""))
    unit = export_unit(project / "gaia.toml", tmp_path)
    text = unit.read_text()
    assert f"WorkingDirectory={str(project).replace('%', '%%')}\n" in text
    assert "%%h" in text and "$$HOME" in text  # in ExecStart: neither expands
    verify(unit)


def test_a_line_break_in_the_path_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "x\nExecStartPre=id"
    project.mkdir()
    (project / "gaia.toml").write_text(PRIVILEGED.replace('bind = "0.0.0.0:443"', ""))
    result = run_cli("export", "systemd", "-c", str(project / "gaia.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "line break" in result.stderr and "ExecStartPre" not in result.stdout


def exposure(unit: Path) -> float:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (Debian package `systemd`)")
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=45,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1))


def test_a_user_unit_is_sandboxed(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "gaia.toml").write_text(PRIVILEGED)
    unit = export_unit(project / "gaia.toml", tmp_path, "--user", "www-data")
    text = unit.read_text()
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in text  # port 443, nothing else
    assert f"ReadWritePaths={project}/.gaia" in text  # the state dir
    verify(unit)
    assert exposure(unit) <= 2.0


def test_a_root_unit_that_switches_users_is_sandboxed(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "gaia.toml").write_text(PRIVILEGED + 'user = "www-data"\n')
    unit = export_unit(project / "gaia.toml", tmp_path)
    text = unit.read_text()
    assert "User=" not in text and "CAP_SETUID" in text and "CAP_SYS_ADMIN" not in text
    verify(unit)
    assert exposure(unit) <= 3.0
