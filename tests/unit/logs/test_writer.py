"""gaia's stdout writer: a sink that blocks, fails or closes costs lines on screen, never the
caller's time."""

from __future__ import annotations

import errno
import threading
import time

from gaia_runner.logs.writer import QueuedOutput, Target


class Sink:
    """A fake stdout: takes text while open, blocks while closed, fails when told to."""

    def __init__(self) -> None:
        self.text = ""
        self.open = threading.Event()
        self.open.set()
        self.error: OSError | None = None
        self.entered = threading.Event()  # a write is in progress (maybe blocked)

    def __call__(self, text: str) -> None:
        self.entered.set()
        self.open.wait()
        if self.error is not None:
            raise self.error
        self.text += text


def lines(first: int, last: int) -> str:
    return "".join(f"line {n:04d}\n" for n in range(first, last))


def test_writes_never_wait_for_a_sink_nobody_reads_and_a_note_marks_the_gap() -> None:
    sink, warnings = Sink(), []
    out = QueuedOutput(Target(sink, warn=warnings.append, logs="/state/logs"), 100, 50)
    sink.open.clear()
    out.write(lines(0, 1))  # taken by the thread, which then blocks in the sink
    assert sink.entered.wait(5)
    started = time.monotonic()
    for n in range(1, 1001):
        out.write(lines(n, n + 1))
    assert time.monotonic() - started < 1.0, "a write waited for the sink"
    assert out.dropped > 900
    assert len(warnings) == 1 and "/state/logs are complete" in warnings[0]
    assert not out.drain(0.2), "drain must give up on a stuck sink"

    sink.open.set()
    assert out.drain(5)
    out.write(lines(1001, 1002))
    assert out.drain(5)
    shown = sink.text.splitlines()
    note = [s for s in shown if "not shown" in s]
    assert note == [
        f"gaia | gaia: {out.dropped} lines not shown: stdout was not being read;"
        " the app logs under /state/logs are complete"
    ]
    numbered = [int(s.split()[1]) for s in shown if s.startswith("line ")]
    assert numbered == sorted(numbered) and numbered[0] == 0 and numbered[-1] == 1001
    assert len(numbered) + out.dropped == 1002
    assert shown.index(note[0]) == len(shown) - 2  # where the gap is: before line 1001


def test_a_slow_sink_gets_a_note_per_gap_not_per_line() -> None:
    sink = Sink()
    out = QueuedOutput(Target(sink), 100, 50)
    sink.open.clear()
    out.write("first\n")
    assert sink.entered.wait(5)
    for n in range(200):
        out.write(lines(n, n + 1))
    sink.open.set()
    assert out.drain(5)
    assert sink.text.count("not shown") <= 1


def test_a_full_disk_is_counted_said_once_and_writing_resumes_with_a_note() -> None:
    sink, warnings = Sink(), []
    out = QueuedOutput(Target(sink, warn=warnings.append))
    sink.error = OSError(errno.ENOSPC, "No space left on device")
    out.write("web | a\nweb | b\n")
    out.write("gaia | stopping\n")
    assert out.drain(5)
    assert out.dropped == 3
    assert warnings == ["cannot write to stdout (No space left on device); will retry"]
    sink.error = None
    out.write("web | c\n")
    out.write("web | d\n")
    assert out.drain(5)
    assert sink.text == (
        "gaia | output resumed; 3 lines were not shown (No space left on device)\n"
        "web | c\nweb | d\n"
    )


def test_a_closed_pipe_is_given_up_once() -> None:
    sink, warnings, closed = Sink(), [], []
    out = QueuedOutput(Target(sink, warn=warnings.append, on_closed=lambda: closed.append(1)))
    sink.error = BrokenPipeError()
    for _ in range(3):
        out.write("web | x\nweb | y\n")
        assert out.drain(5)
    assert out.dropped == 6
    assert warnings == ["stdout is closed; app output now goes to the log files only"]
    assert closed == [1]
