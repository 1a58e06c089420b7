"""gaia's internal clocks, shortened by environment variables so tests stay fast.

Everything a user would tune lives in gaia.toml; these are the knobs only a test
suite or a benchmark has a reason to turn.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Timings:
    sample: float = 1.0  # psutil sampling interval when no memory limit sets one
    command_grace: float = 1.0  # a plain command counts as up after surviving this long
    crash_window: float = 10.0  # worker deaths are counted over this window...
    crash_limit: int = 5  # ...and this many, while the app does not answer, condemn it
    debounce: float = 0.3  # quiet time after a gaia.toml save before reloading
    config_check: float = 5.0  # content compare of the config files, should inotify miss one
    cpu_saturated: float = 0.95  # adaptive workers add none while the CPUs are this busy
    lag_window: float = 10.0  # the event-loop lag is the worst over this many seconds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Timings:
        def number(name: str, default: float) -> float:
            raw = environ.get(f"GAIA_{name.upper()}")
            return float(raw) if raw else default

        base = cls()
        return cls(
            sample=number("sample_interval", base.sample),
            command_grace=number("command_grace", base.command_grace),
            crash_window=number("crash_window", base.crash_window),
            crash_limit=int(number("crash_limit", base.crash_limit)),
            debounce=number("debounce", base.debounce),
            config_check=number("config_check", base.config_check),
            cpu_saturated=number("cpu_saturated", base.cpu_saturated),
            lag_window=number("lag_window", base.lag_window),
        )


class Clock(Protocol):
    """Monotonic time and waiting on it: a test passes a clock that jumps instead."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
