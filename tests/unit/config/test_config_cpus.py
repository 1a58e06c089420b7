from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config.cpus import available_cpus, cgroup_cpu_limit


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_no_cgroup_files_means_affinity(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path) is None
    assert available_cpus(tmp_path, affinity=6) == 6


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000", 8), ("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1)],
)
def test_cgroup_v2_quota(tmp_path: Path, cpu_max: str, expected: int) -> None:
    _write(tmp_path / "cpu.max", cpu_max)
    assert available_cpus(tmp_path, affinity=8) == expected


def test_quota_above_affinity_keeps_affinity(tmp_path: Path) -> None:
    _write(tmp_path / "cpu.max", "1600000 100000")
    assert available_cpus(tmp_path, affinity=4) == 4


@pytest.mark.parametrize("controller", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_quota(tmp_path: Path, controller: str) -> None:
    _write(tmp_path / controller / "cpu.cfs_quota_us", "300000")
    _write(tmp_path / controller / "cpu.cfs_period_us", "100000")
    assert available_cpus(tmp_path, affinity=8) == 3


def test_cgroup_v1_unlimited(tmp_path: Path) -> None:
    _write(tmp_path / "cpu" / "cpu.cfs_quota_us", "-1")
    _write(tmp_path / "cpu" / "cpu.cfs_period_us", "100000")
    assert available_cpus(tmp_path, affinity=8) == 8


def test_garbage_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path / "cpu.max", "what ever")
    assert available_cpus(tmp_path, affinity=3) == 3


def test_at_least_one(tmp_path: Path) -> None:
    assert available_cpus(tmp_path, affinity=0) == 1


def test_real_machine() -> None:
    assert available_cpus() >= 1
