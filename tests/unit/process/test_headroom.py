"""Memory available and CPU busy, read from files laid out as the kernel's."""

from __future__ import annotations

from pathlib import Path

from gaia_runner.process.headroom import CpuBusy, memory_available


def test_the_smaller_of_memavailable_and_what_the_cgroup_leaves(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n")
    cgroup = tmp_path / "cg"
    cgroup.mkdir()
    assert memory_available(cgroup, meminfo) == 4000000 * 1024
    (cgroup / "memory.max").write_text("1000000000\n")
    (cgroup / "memory.current").write_text("900000000\n")
    assert memory_available(cgroup, meminfo) == 100000000
    (cgroup / "memory.max").write_text("max\n")
    assert memory_available(cgroup, meminfo) == 4000000 * 1024
    assert memory_available(cgroup, tmp_path / "none") is None


def test_cpu_busy_is_the_share_since_the_last_reading(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    busy = CpuBusy(tmp_path / "no-cgroup", stat)
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    assert busy() is None  # a first reading has nothing to compare with
    stat.write_text("cpu  190 0 100 810 0 0 0 0 0 0\n")  # 90 of 100 ticks busy
    assert busy() == 0.9
