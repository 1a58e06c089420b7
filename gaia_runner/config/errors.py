"""Problems found in a config file, each pinned to a file, line and key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigIssue:
    """One error or warning. ``line`` is 1-based; ``key`` is a dotted TOML path."""

    file: Path
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used. Carries every problem found, not just the first."""

    issues: tuple[ConfigIssue, ...]
    # What gaia.toml read when it was refused (load.source_digest's form); None when the
    # refusal was not about what the file said.
    read_digest: str | None = None

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        # Passing the tuple as args keeps the exception picklable.
        super().__init__(self.issues)

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
