"""gaia's own output (stdout and stderr), written by a thread behind a bounded queue.

A sink that stops taking data (`gaia up | sleep 600`, a stuck log driver, a terminal
paused with Ctrl-S) blocks whoever writes to it. gaia's loop drains the apps' pipes and
answers the CLI, so it must never be that writer: it hands text to a queue and carries
on. When the queue is full, text is dropped and counted; the stream says how many lines
were not shown where the gap is, and stderr says once why. O_NONBLOCK on an inherited
stdout is not an option: the flag lives on the open file description, shared with the
shell or terminal that gave it.

The thread is a daemon, and the flush at exit is bounded: a sink that never takes data
again must not keep gaia from exiting.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

Sink = Callable[[str], None]  # writes all of it, or raises; may block for ever
Warn = Callable[[str], None]

CAPACITY_BYTES = 1024 * 1024
# Bytes of queue that must be free again before text is taken after a drop: a sink that is
# only slow gets one note per this much output, not one per line.
RESUME_BYTES = CAPACITY_BYTES // 2
EXIT_FLUSH_SECONDS = 1.0


def stream_sink(stream: Callable[[], IO[str]]) -> Sink:
    """Write to the stream's descriptor directly when it has one: a thread blocked inside
    the stream's own buffer holds its lock, and Python aborts at exit when it cannot take
    that lock to flush (a fatal error, not an exception)."""

    def write(text: str) -> None:
        target = stream()
        try:
            fd = target.fileno()
        except (OSError, ValueError, AttributeError):
            fd = -1
        if fd < 0:
            write_text(target, text)
            return
        data = text.encode(getattr(target, "encoding", None) or "utf-8", errors="replace")
        with memoryview(data) as view:
            done = 0
            while done < len(data):
                done += os.write(fd, view[done:])

    return write


def write_text(stream: IO[str], text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        # An ASCII-only stream (LANG=C under some service managers): degrade it.
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


def discard_writes(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null: Python flushes stdout once more at exit,
    and a failure there would turn gaia's clean exit into status 120."""
    with contextlib.suppress(OSError, ValueError):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


@dataclass(frozen=True)
class Target:
    """Where a QueuedOutput writes, and whom it tells about trouble."""

    sink: Sink
    name: str = "stdout"
    warn: Warn | None = None  # told once per kind of trouble
    logs: str = "state_dir/logs"  # named in notes: where the complete output is
    on_closed: Callable[[], None] | None = None
    tty: bool = False
    encoding: str = "utf-8"


class QueuedOutput:
    """A file-like stream (write, flush, isatty, encoding: enough for print and Rich)
    whose write never blocks and never raises."""

    def __init__(
        self, target: Target, capacity: int = CAPACITY_BYTES, resume: int = RESUME_BYTES
    ) -> None:
        self.encoding = target.encoding
        self._target = target
        self._name = target.name
        self._capacity = capacity
        self._resume = resume
        self._cond = threading.Condition()
        self._queue: collections.deque[str] = collections.deque()
        self._queued = 0  # bytes (characters) waiting
        self._busy = False  # the thread holds text it is writing
        self._thread: threading.Thread | None = None
        self._closed = False  # the reader went away for good
        self._skipped = 0  # lines dropped in the current gap, queue full
        self._said_full = False
        self._failed = 0  # lines lost to the current run of write errors
        self._error: str | None = None
        self.dropped = 0  # lines not shown, since gaia started
        _LIVE.add(self)

    # The file-like surface.
    def isatty(self) -> bool:
        return self._target.tty

    def flush(self) -> None:
        """Never waits for the sink: see drain()."""

    def write(self, text: str) -> int:
        if not text:
            return 0
        lines = max(text.count("\n"), 1)
        with self._cond:
            if self._closed:
                self.dropped += lines
                return len(text)
            if self._skipped and self._queued + self._resume > self._capacity:
                self._skip(lines)
                return len(text)
            if self._queue and self._queued + len(text) > self._capacity:
                self._skip(lines)
                return len(text)
            if self._skipped:
                self._put(self._gap_note())
            self._put(text)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"gaia-{self._name}", daemon=True
                )
                self._thread.start()
        return len(text)

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for everything queued to be written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # Under the lock.
    def _put(self, text: str) -> None:
        self._queue.append(text)
        self._queued += len(text)
        self._cond.notify_all()

    def _skip(self, lines: int) -> None:
        self._skipped += lines
        self.dropped += lines
        if not self._said_full:
            self._said_full = True
            self._tell(
                f"{self._name} is not being read fast enough; lines that do not fit are dropped"
                f" and counted (the app logs under {self._target.logs} are complete)"
            )

    def _gap_note(self) -> str:
        count, self._skipped = self._skipped, 0
        return (
            f"gaia | gaia: {count} lines not shown: {self._name} was not being read;"
            f" the app logs under {self._target.logs} are complete\n"
        )

    def _tell(self, message: str) -> None:
        if self._target.warn is not None:
            # stderr has its own queue: a warning never waits either.
            with contextlib.suppress(Exception):
                self._target.warn(message)

    # The writer thread.
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                text = self._queue.popleft()
                self._queued -= len(text)
                self._busy = True
            try:
                self._deliver(text)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, text: str) -> None:
        lines = max(text.count("\n"), 1)
        if self._error is not None:
            note = f"output resumed; {self._failed} lines were not shown ({self._error})"
            text = f"gaia | {note}\n{text}"
        try:
            self._target.sink(text)
        except (BrokenPipeError, ValueError):
            # `gaia up | head`, or a closed stdout: nobody will read again.
            with self._cond:
                self._closed = True
                self.dropped += lines + sum(max(t.count("\n"), 1) for t in self._queue)
                self._queue.clear()
                self._queued = 0
            if self._target.on_closed is not None:
                with contextlib.suppress(Exception):
                    self._target.on_closed()
            self._tell(f"{self._name} is closed; app output now goes to the log files only")
        except OSError as exc:
            with self._cond:
                self.dropped += lines
            self._failed += lines
            if self._error is None:
                self._error = exc.strerror or type(exc).__name__
                self._tell(f"cannot write to {self._name} ({self._error}); will retry")
        else:
            self._error, self._failed = None, 0


# Every QueuedOutput gets a bounded flush at exit, all of them within one deadline.
_LIVE: weakref.WeakSet[QueuedOutput] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    for output in list(_LIVE):
        output.drain(max(0.0, deadline - time.monotonic()))


_stderr: QueuedOutput | None = None
_stderr_lock = threading.Lock()


def stderr_output() -> QueuedOutput:
    """gaia's stderr, shared by everything that warns while gaia runs. Its own drops are
    only counted: there is nowhere else to say so."""
    global _stderr
    with _stderr_lock:
        if _stderr is None:
            _stderr = QueuedOutput(Target(stream_sink(lambda: sys.stderr), name="stderr"))
        return _stderr


def warn_stderr(message: str) -> None:
    stderr_output().write(f"gaia: {message}\n")


def stdout_output(logs: str) -> QueuedOutput:
    """gaia's stdout behind a queue. The stream is taken now: the live table later puts a
    proxy that prints through the table in sys.stdout's place."""
    stdout = sys.stdout
    with contextlib.suppress(OSError, ValueError):
        stdout.flush()  # what was printed before goes first
    target = Target(
        stream_sink(lambda: stdout),
        warn=warn_stderr,
        logs=logs,
        on_closed=lambda: discard_writes(stdout),
        tty=_isatty(stdout),
        encoding=getattr(stdout, "encoding", None) or "utf-8",
    )
    return QueuedOutput(target)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
