"""Shared type for the TLS fixture (a module of its own: conftest is not importable by name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    other_key: Path  # a valid key that does not belong to `cert`
