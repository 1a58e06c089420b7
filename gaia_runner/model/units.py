"""How durations and sizes read in gaia's output: messages, the table, `gaia status`.

The parsing side (what gaia.toml may say) is config/units.py; this is the one way back.
"""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """Short, fixed-shape rendering for tables: "450ms", "12s", "3m05s", "1h02m"."""
    if seconds < 0 or not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        ms = round(seconds * 1000)
        return "0s" if ms == 0 else f"{ms}ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def format_age(seconds: float) -> str:
    """An uptime: seconds only in the first minute, then minutes at most ("45s", "12m",
    "3h12m", "2d04h"), so a table of long-running apps changes once a minute, not every
    second (each redraw of 200 rows cost gaia's loop ~6 % of a core)."""
    if seconds < 0 or not math.isfinite(seconds):
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    return format_duration(whole)


_BINARY_STEPS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(n: float, *, short: bool = False) -> str:
    """Binary units with at most one decimal: "900KiB", "512MiB", "1.5GiB". `short`, for
    table columns: the decimal only below 10 ("1.5GiB", "12GiB")."""
    if n < 0:
        return "-" + format_size(-n, short=short)
    value = float(n)
    unit = 0
    while unit < len(_BINARY_STEPS) - 1 and round(value, 1) >= 1024:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{round(value)}B"
    text = f"{value:.1f}".removesuffix(".0")
    if short and value >= 10:
        text = f"{value:.0f}"
    return f"{text}{_BINARY_STEPS[unit]}"
