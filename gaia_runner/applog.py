"""Where an app's output goes: its log file, a tail kept for post-mortems, and the display."""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

TAIL_LINES = 40

Forward = Callable[[str, str, str], None]  # (app, source, line)


class AppLog:
    def __init__(self, app: str, log_dir: Path, forward: Forward) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.app = app
        self.path = log_dir / f"{app}.log"
        self._file: TextIO = self.path.open("a", encoding="utf-8", buffering=1)
        self._forward = forward
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def sink(self, source: str = "") -> Callable[[str], None]:
        def write(line: str) -> None:
            self.write(source, line)

        return write

    def write(self, source: str, line: str) -> None:
        prefix = f"[{source}] " if source else ""
        self._file.write(f"{prefix}{line}\n")
        self._tail.append(line)
        self._forward(self.app, source, line)

    def tail(self, count: int = 10) -> tuple[str, ...]:
        return tuple(self._tail)[-count:]

    def close(self) -> None:
        self._file.close()
