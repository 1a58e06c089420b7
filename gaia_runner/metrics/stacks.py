"""Where a request waits, as the lines of a Python traceback.

A suspended coroutine has no thread stack: ``Task.get_stack()`` gives one frame on 3.11,
so the task's chain of ``cr_await`` (generators' ``gi_yieldfrom``, async generators'
``ag_await``) is walked down to the innermost frame. A task that waits on another task
or a gather goes on into those; one that waits on a future a thread will complete
(``to_thread``, ``run_in_executor``, Starlette's threadpool for ``def`` endpoints) goes on
into the frames of the thread whose code refers to that future. Only code locations are
shown: never a local's value, which may hold a secret.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import linecache
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

MAX_DEPTH = 60  # frames followed down one await chain
MAX_TASKS = 8  # child tasks followed under one request
MAX_FRAMES = 40  # innermost frames shown of each segment
_FUTURE_ATTRS = ("future", "fut", "_future")

Where = tuple[str, int, str]  # (file, line, function)


def _where(frame: FrameType) -> Where:
    code = frame.f_code
    return (code.co_filename, frame.f_lineno or code.co_firstlineno, code.co_qualname)


def thread_stack(ident: int) -> list[Where]:
    """A thread's frames, outermost first (empty if the thread is gone)."""
    frame = sys._current_frames().get(ident)
    found: list[Where] = []
    while frame is not None:
        found.append(_where(frame))
        frame = frame.f_back
    found.reverse()
    return found


def _await_chain(coro: object) -> tuple[list[Where], object | None]:
    """The frames down a coroutine's await chain, and what its innermost one awaits
    that is not itself a coroutine or generator (None when it is running)."""
    found: list[Where] = []
    current: object | None = coro
    for _ in range(MAX_DEPTH):
        frame = next(
            (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(current, a, None))),
            None,
        )
        if frame is None:
            return found, current
        found.append(_where(frame))
        nested = next(
            (
                n
                for a in ("cr_await", "gi_yieldfrom", "ag_await")
                if (n := getattr(current, a, None)) is not None
            ),
            None,
        )
        if nested is None:
            return found, None
        current = nested
    return found, None


def _refers_to(value: object, target: object, depth: int = 0) -> bool:
    if value is target:
        return True
    if isinstance(value, concurrent.futures.Future):
        # run_in_executor chains the pool's future to the awaited one in a callback.
        for callback in getattr(value, "_done_callbacks", ()):
            for cell in getattr(callback, "__closure__", None) or ():
                try:
                    if cell.cell_contents is target:
                        return True
                except ValueError:  # an empty cell
                    continue
    if depth == 0:
        return any(_refers_to(getattr(value, a, None), target, 1) for a in _FUTURE_ATTRS)
    return False


def _thread_completing(future: object, skip: int) -> threading.Thread | None:
    """The thread running the code that will complete `future`: one of its frames holds
    it, or the pool future chained to it (anyio's worker threads and ThreadPoolExecutor
    both keep it in a local)."""
    frames = sys._current_frames()
    for thread in threading.enumerate():
        ident = thread.ident
        if ident is None or ident == skip:
            continue
        frame = frames.get(ident)
        while frame is not None:
            try:
                values = list(frame.f_locals.values())
            except Exception:
                values = []
            if any(_refers_to(v, future) for v in values):
                return thread
            frame = frame.f_back
    return None


class Segment:
    """One part of a stack: a task's await chain, or a thread's frames."""

    def __init__(self, title: str, frames: list[Where]) -> None:
        self.title = title
        self.frames = frames


def task_stack(task: asyncio.Task[Any], loop_thread: int) -> list[Segment]:
    """The request's task, its child tasks and the threads they wait on."""
    segments: list[Segment] = []
    todo: list[tuple[str, asyncio.Future[Any]]] = [("", task)]
    seen = 0
    while todo and seen < MAX_TASKS:
        title, item = todo.pop(0)
        seen += 1
        if not isinstance(item, asyncio.Task):
            continue
        frames, tail = _await_chain(item.get_coro())
        segments.append(Segment(title, frames))
        if tail is None and getattr(item.get_coro(), "cr_running", False):
            # Running right now: it holds the loop, so the loop thread's frames say where.
            segments.append(Segment("running on the event loop", thread_stack(loop_thread)))
            continue
        waiter = getattr(item, "_fut_waiter", None)
        if waiter is None:
            continue
        if isinstance(waiter, asyncio.Task):
            todo.append((f"awaiting task {waiter.get_name()}", waiter))
        elif children := getattr(waiter, "_children", None):  # gather
            todo.extend(
                (f"gathered task {c.get_name()}", c)
                for c in children
                if isinstance(c, asyncio.Task) and not c.done()
            )
        else:
            thread = _thread_completing(waiter, skip=loop_thread)
            if thread is not None:
                segments.append(Segment(f"in thread {thread.name}", thread_stack(thread.ident)))  # type: ignore[arg-type]
    return segments


def format_segments(segments: list[Segment]) -> Iterator[str]:
    """Traceback lines, each segment's innermost MAX_FRAMES frames."""
    for segment in segments:
        if segment.title:
            yield f"  -- {segment.title}:"
        frames = segment.frames
        if len(frames) > MAX_FRAMES:
            yield f"  ... {len(frames) - MAX_FRAMES} outer frames"
            frames = frames[-MAX_FRAMES:]
        for file, line, name in frames:
            yield f'  File "{file}", line {line}, in {name}'
            source = linecache.getline(file, line).strip()
            if source:
                yield f"    {source}"


def signature(segments: list[Segment]) -> tuple[Where, ...]:
    """What makes two stacks the same wait: the innermost frames of every segment."""
    return tuple(w for s in segments for w in s.frames[-3:])
