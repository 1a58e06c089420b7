"""Where an app's output goes: its log file, a tail kept for post-mortems, and the display.

Writing never raises: a full disk or a vanished log directory must not stop gaia from
draining the app's pipe (an app blocked on a full pipe stops serving while it looks
healthy). Lines that cannot be written are counted, reported once, and writing resumes
by itself at a later batch once the file takes data again.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from gaia_runner.logs.writer import warn_stderr
from gaia_runner.statedir import ensure_private_dir, open_private_append_fd

TAIL_LINES = 40
# A chatty app must not fill the disk: the file rolls over at this size (in bytes), and
# NAME.log.1 .. NAME.log.KEEP hold the previous ones.
MAX_LOG_BYTES = 10 * 1024 * 1024
KEEP_ROTATED = 3

Forward = Callable[[str, str, Sequence[str]], None]  # (app, source, lines)
Warn = Callable[[str], None]


def timestamp() -> str:
    """ISO 8601 with milliseconds and the UTC offset: sortable, and `gaia logs --since`
    can read it back."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def encode_lines(source: str, lines: Sequence[str], stamp: str | None = None) -> bytes:
    # One clock read per batch: lines read together arrived together.
    prefix = f"{stamp or timestamp()} " + (f"[{source}] " if source else "")
    text = prefix + f"\n{prefix}".join(lines) + "\n"
    return text.encode("utf-8", errors="replace")


class AppLog:
    def __init__(
        self,
        app: str,
        log_dir: Path,
        forward: Forward,
        max_bytes: int = MAX_LOG_BYTES,
        warn: Warn = warn_stderr,
        keep: int = KEEP_ROTATED,
    ) -> None:
        ensure_private_dir(log_dir)
        self.app = app
        self.path = log_dir / f"{app}.log"
        self._max_bytes = max_bytes
        self._keep = keep
        self._forward = forward
        self._warn = warn
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._fd: int | None = None
        self._size = 0
        self.unwritten = 0  # lines that never reached the file, since gaia started
        self._lost_now = 0  # ... during the current run of failed writes
        self._error: str | None = None  # set while writes fail
        self._cut_line = False  # a failed write left half a line in the file
        try:
            self._fd = self._open()
        except OSError as exc:
            self._failed(b"", 0, 0, exc)

    def sink(self, source: str = "") -> Callable[[list[str]], None]:
        def write(lines: list[str]) -> None:
            self.write_lines(source, lines)

        return write

    def _open(self) -> int:
        fd = open_private_append_fd(self.path)
        self._size = os.fstat(fd).st_size
        return fd

    def _rotate(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        for n in range(self._keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self._keep > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._fd = self._open()

    def write(self, source: str, line: str) -> None:
        self.write_lines(source, [line])

    def write_lines(self, source: str, lines: Sequence[str]) -> None:
        if not lines:
            return
        self._append(encode_lines(source, lines))
        self._tail.extend(lines[-TAIL_LINES:])
        # A broken terminal is the display's problem; the log file and the pipe carry on.
        with contextlib.suppress(OSError, ValueError):
            self._forward(self.app, source, lines)

    def _append(self, data: bytes) -> None:
        resumed = self._error is not None
        lead = b"\n" if self._cut_line else b""
        if resumed:
            lost = f"{self._lost_now} lines could not be written here ({self._error})"
            note = f"{timestamp()} [gaia] {lost}\n"
            lead += note.encode()
        data = lead + data
        written = 0
        try:
            if self._fd is None:
                self._fd = self._open()
            if self._size + len(data) > self._max_bytes and self._size > 0:
                self._rotate()
            assert self._fd is not None
            with memoryview(data) as view:
                while written < len(data):
                    written += os.write(self._fd, view[written:])
        except OSError as exc:
            self._size += written
            self._failed(data, written, len(lead), exc)
            return
        self._size += written
        self._cut_line = False
        if resumed:
            self._warn(
                f"{self.app}: writing {self.path} again; {self._lost_now} lines were lost"
                f" ({self._error})"
            )
            self._error, self._lost_now = None, 0

    def _failed(self, data: bytes, written: int, lead: int, exc: OSError) -> None:
        lost = data[max(written, lead) :].count(b"\n")
        self.unwritten += lost
        self._lost_now += lost
        if written:
            self._cut_line = not data[:written].endswith(b"\n")
        if self._error is None:
            self._error = exc.strerror or type(exc).__name__
            self._warn(
                f"{self.app}: cannot write {self.path} ({self._error}); the app's output is"
                " still read and counted, writing resumes when it can"
            )

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
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
