"""One module per figure of issue 5; each exposes NUMBER, KEY, TITLE and run(ctx) -> Figure."""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = (
    "f1_throughput",
    "f2_cold_start",
    "f3_footprint",
    "f4_kills",
    "f5_config_change",
    "f6_memory_limit",
    "f7_crash_loop",
    "f8_reload",
    "f9_scale",
    "f10_log_throughput",
    "f11_metrics",
    "f12_table_cpu",
    "f13_dev_reload",
    "f14_top_cpu",
    "f15_adaptive",
)


def load_all() -> list[ModuleType]:
    return [importlib.import_module(f"bench.scenarios.{name}") for name in NAMES]
