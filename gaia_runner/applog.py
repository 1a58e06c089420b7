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

    def post_mortem(self, count: int = 5) -> tuple[str, ...]:
        """The lines that explain a failure: the exception a traceback ended with (servers
        often log more after it) and the very last lines."""
        lines = list(self._tail)
        last = lines[-count:]
        for i in range(len(lines) - 1, -1, -1):
            if lines[i].lstrip().startswith("Traceback (most recent call last)"):
                ends = [ln for ln in lines[i + 1 :] if ln and not ln[0].isspace()]
                if ends and ends[0] not in last:
                    return (ends[0], *last[-(count - 1) :])
                break
        return tuple(last)

    def close(self) -> None:
        self._file.close()
