"""gaia's internal clocks, shortened by environment variables so tests stay fast.

Everything a user would tune lives in gaia.toml; these are the knobs only a test
suite or a benchmark has a reason to turn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    sample: float = 1.0  # psutil sampling interval when no memory limit sets one
    command_grace: float = 1.0  # a plain command counts as up after surviving this long
    crash_window: float = 10.0  # worker deaths are counted over this window...
    crash_limit: int = 5  # ...and this many, while the app does not answer, condemn it
    debounce: float = 0.3  # quiet time after a gaia.toml save before reloading

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
        )
