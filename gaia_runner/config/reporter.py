"""Collects errors and warnings, turning key paths into lines as it goes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gaia_runner.config.errors import ConfigIssue
from gaia_runner.config.locate import KeyLines, KeyPath

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def format_key(path: KeyPath) -> str:
    """``("apps", "web", "bind", 1)`` -> ``apps.web.bind[1]``, quoting odd keys as TOML does."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if _BARE.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        out = f"{out}.{text}" if out else text
    return out


class Reporter:
    """Every check appends here instead of raising, so one run reports everything."""

    def __init__(self, file: Path, lines: KeyLines) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []

    def _issue(self, path: KeyPath, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.lines.line_of(path), format_key(path), message)

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append(self._issue(path, message))

    def warning(self, path: KeyPath, message: str) -> None:
        self.warnings.append(self._issue(path, message))

    def add(self, issue: ConfigIssue) -> None:
        """An error located in another file, such as an env file."""
        self.errors.append(issue)

    def sorted_errors(self) -> tuple[ConfigIssue, ...]:
        return _in_reading_order(self.errors, self.file)

    def sorted_warnings(self) -> tuple[ConfigIssue, ...]:
        return _in_reading_order(self.warnings, self.file)


def _in_reading_order(issues: list[ConfigIssue], main: Path) -> tuple[ConfigIssue, ...]:
    # The config file first, top to bottom, then any env files it points at.
    return tuple(sorted(issues, key=lambda i: (i.file != main, str(i.file), i.line or 0)))
