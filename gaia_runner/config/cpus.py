"""How many CPUs this process may really use, for ``workers = "auto"``.

``os.cpu_count()`` reports the host's CPUs, which inside a container limited
to two CPUs would start far too many workers. The affinity mask covers
``taskset``/cpusets; the cgroup CFS quota covers ``docker run --cpus``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = DEFAULT_CGROUP_ROOT, affinity: int | None = None) -> int:
    """Usable CPUs: the affinity mask, capped by any cgroup quota, at least 1."""
    cpus = _affinity_count() if affinity is None else affinity
    quota = cgroup_cpu_limit(cgroup_root)
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def _affinity_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cgroup_cpu_limit(root: Path = DEFAULT_CGROUP_ROOT) -> int | None:
    """The CFS quota in whole CPUs (rounded up), or None when unlimited or unknown."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        fields = v2.split()
        if len(fields) >= 1 and fields[0] == "max":
            return None
        if len(fields) == 2:
            return _ratio(fields[0], fields[1])
        return None
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota = _read(root / controller / "cpu.cfs_quota_us")
        period = _read(root / controller / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return _ratio(quota, period)
    return None


def _ratio(quota: str, period: str) -> int | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:  # v1 writes -1 for "no limit"
        return None
    return max(1, math.ceil(q / p))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
