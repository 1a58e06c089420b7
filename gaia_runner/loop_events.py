"""What the runner's loop is asked to do: typed words from signal handlers, the config
watch and dev mode's code watch, one queue, handled one at a time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StopGaia:
    """SIGINT, SIGTERM, `gaia down` or `gaia shutdown`: stop every app, then gaia."""


@dataclass(frozen=True)
class ReloadConfig:
    """SIGHUP or a saved gaia.toml (or an env or TLS file it names)."""


@dataclass(frozen=True)
class CodeChanged:
    """Dev mode: a source file of `app` was saved."""

    app: str


LoopEvent = StopGaia | ReloadConfig | CodeChanged
