"""Where an app's output goes: its log file, a tail kept for post-mortems, and the display."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from gaia_runner.process.statedir import ensure_private_dir, open_private_append

TAIL_LINES = 40
# A chatty app must not fill the disk: the file rolls over at this size, and
# NAME.log.1 .. NAME.log.KEEP hold the previous ones.
MAX_LOG_BYTES = 10 * 1024 * 1024
KEEP_ROTATED = 3

Forward = Callable[[str, str, Sequence[str]], None]  # (app, source, lines)


class AppLog:
    def __init__(
        self, app: str, log_dir: Path, forward: Forward, max_bytes: int = MAX_LOG_BYTES
    ) -> None:
        ensure_private_dir(log_dir)
        self.app = app
        self.path = log_dir / f"{app}.log"
        self._max_bytes = max_bytes
        self._file: TextIO = self._open()
        self._forward = forward
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def sink(self, source: str = "") -> Callable[[list[str]], None]:
        def write(lines: list[str]) -> None:
            self.write_lines(source, lines)

        return write

    def _open(self) -> TextIO:
        handle = open_private_append(self.path)
        self._size = handle.tell()
        return handle

    def _rotate(self) -> None:
        self._file.close()
        for n in range(KEEP_ROTATED - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self._open()

    def write(self, source: str, line: str) -> None:
        self.write_lines(source, [line])

    def write_lines(self, source: str, lines: Sequence[str]) -> None:
        prefix = f"[{source}] " if source else ""
        text = "".join(f"{prefix}{line}\n" for line in lines)
        if self._size + len(text) > self._max_bytes and self._size > 0:
            self._rotate()
        self._file.write(text)
        self._file.flush()
        self._size += len(text)
        self._tail.extend(lines)
        self._forward(self.app, source, lines)

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
