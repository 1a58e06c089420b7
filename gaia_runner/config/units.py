"""Human-friendly durations and sizes, both directions.

Config values are written by people ("30s", "512MiB") but consumed by code
(seconds, bytes). Parsing lives here so every key accepts the same spellings
and every bad value gets the same message.

Size units: ``KB``/``MB``/``GB``/``TB`` are decimal (1000-based), ``KiB``/``MiB``/
``GiB``/``TiB`` are binary, and the bare ``K``/``M``/``G``/``T`` shorthand is
binary, as in ``docker run --memory 512m``. Units are case-insensitive.
"""

from __future__ import annotations

import math
import re

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)", re.IGNORECASE)
_DURATION_HINT = 'a duration such as "500ms", "30s", "5m" or a number of seconds'
# Beyond a day a timeout is a typo, and asyncio and the servers overflow on huge ones.
MAX_DURATION = 86400.0
# Anything polled more often than this burns a core for no gain.
MIN_INTERVAL = 0.1

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)", re.IGNORECASE)
_SIZE_HINT = 'a size such as "512MiB", "1GB", "100KB" or a number of bytes'


def _shown(v: object) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return f"a value of type {type(v).__name__}"


def _is_number(v: object) -> bool:
    # bool is an int subclass, but `timeout = true` is a mistake, not 1 second.
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_duration(v: object) -> float:
    """Seconds from a number of seconds or a string like "1m30s"."""
    if _is_number(v):
        seconds = float(v)  # type: ignore[arg-type]
    elif isinstance(v, str):
        seconds = _parse_duration_text(v.strip(), v)
    else:
        raise ValueError(f"expected {_DURATION_HINT}, got {_shown(v)}")
    if not math.isfinite(seconds):
        raise ValueError(f"expected {_DURATION_HINT}, got {_shown(v)}")
    if seconds < 0:
        raise ValueError(f"must not be negative, got {_shown(v)}")
    return seconds


def parse_config_duration(v: object) -> float:
    """A duration a config key may hold: at most MAX_DURATION."""
    seconds = parse_duration(v)
    if seconds > MAX_DURATION:
        raise ValueError(f"must be at most 1 day ({MAX_DURATION:g}s), got {_shown(v)}")
    return seconds


def parse_interval(v: object) -> float:
    """A duration that paces a polling loop, so it has a floor as well as a ceiling."""
    seconds = parse_config_duration(v)
    if seconds < MIN_INTERVAL:
        raise ValueError(f"must be at least {MIN_INTERVAL * 1000:g}ms, got {_shown(v)}")
    return seconds


def _parse_duration_text(text: str, original: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    total = 0.0
    pos = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"expected {_DURATION_HINT}, got {_shown(original)}")
    return total


def parse_size(v: object) -> int:
    """Bytes from a number of bytes or a string like "512MiB"."""
    if _is_number(v):
        amount = float(v)  # type: ignore[arg-type]
        if not math.isfinite(amount):
            raise ValueError(f"expected {_SIZE_HINT}, got {_shown(v)}")
        if amount < 0:
            raise ValueError(f"must not be negative, got {_shown(v)}")
        return round(amount)
    if not isinstance(v, str):
        # ValueError, not TypeError: the schema turns only ValueError into a report.
        raise ValueError(f"expected {_SIZE_HINT}, got {_shown(v)}")  # noqa: TRY004
    match = _SIZE.fullmatch(v.strip())
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"expected {_SIZE_HINT}, got {_shown(v)}")
    return round(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
