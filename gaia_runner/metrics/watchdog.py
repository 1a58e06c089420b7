"""One thread per worker that notices slow requests and a blocked event loop, and says where.

A request costs a dict entry while it is in flight; nothing runs per request beyond that.
The thread wakes every `period` (a fraction of the thresholds, never more than 10 times a
second), looks at the requests in flight, and for one past `slow_request` writes one record
with its stack (stacks.py). An asyncio worker's loop is sent a heartbeat each wake-up: a
heartbeat that has not run after `blocked_loop` means the loop is held, and the loop
thread's frames are sampled then, while it is still held. That sample needs the GIL: a
stretch of C code that never releases it (rare: blocking I/O and time.sleep release it,
pure Python is switched out every 5 ms) is not reported rather than reported at the
wrong place, and neither is a stretch in which this thread itself did not run (the whole
process descheduled).

Records are deduplicated (the same route waiting in the same place is written once per
DEDUP_SECONDS, with how many more there were) and rate-limited per worker, since a dead
upstream makes every request slow; every slow request is counted whether written or not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from gaia_runner.metrics.stacks import Segment, format_segments, signature, task_stack, thread_stack

SLOW_ENV = "GAIA_SLOW_REQUEST"
ACTION_ENV = "GAIA_SLOW_REQUEST_ACTION"
BLOCKED_ENV = "GAIA_BLOCKED_LOOP"
DEDUP_SECONDS = 60.0
RATE_BURST = 5  # records at once, then
RATE_PER_MINUTE = 6  # records per minute per worker
CAPTURE_WAIT = 1.0  # seconds the loop gets to walk a request's await chain itself
MAX_RECORD_LINES = 200

Emit = Callable[[list[str]], None]


@dataclass(frozen=True)
class Settings:
    slow_request: float  # seconds; 0: off
    cancel: bool
    blocked_loop: float  # seconds; 0: off

    @property
    def active(self) -> bool:
        return self.slow_request > 0 or self.blocked_loop > 0

    @property
    def period(self) -> float:
        thresholds = [t for t in (self.slow_request / 4, self.blocked_loop / 2) if t > 0]
        return max(0.1, min([1.0, *thresholds]))


def settings_from_env(env: Mapping[str, str]) -> Settings | None:
    try:
        slow = float(env.get(SLOW_ENV, "0"))
        blocked = float(env.get(BLOCKED_ENV, "0"))
    except ValueError:
        return None
    settings = Settings(slow, env.get(ACTION_ENV) == "cancel", blocked)
    return settings if settings.active else None


@dataclass(eq=False, slots=True)
class InFlight:
    started: float
    method: str
    path: str
    thread: int
    scope: MutableMapping[str, Any] | None = None  # ASGI: routing writes the route here
    task: asyncio.Task[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    response_started: bool = False
    reported: bool = False
    cancelled: bool = False

    def route(self) -> str:
        """The route template when the framework put it in the scope (a path may hold a
        token; "/items/{id}" does not), else the path. Never the query string."""
        route = self.scope.get("route") if self.scope is not None else None
        for attr in ("path_format", "path"):
            template = getattr(route, attr, None)
            if isinstance(template, str) and template:
                return template
        return self.path


@dataclass
class _Limiter:
    """Per worker: a burst, then RATE_PER_MINUTE; the same signature once per window."""

    tokens: float = RATE_BURST
    refilled: float = 0.0
    last_seen: dict[tuple[Any, ...], float] = field(default_factory=dict)
    suppressed: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def allow(self, key: tuple[Any, ...], now: float) -> int | None:
        """None: do not write; else how many records like it were not written."""
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_MINUTE / 60)
        self.refilled = now
        last = self.last_seen.get(key)
        if (last is not None and now - last < DEDUP_SECONDS) or self.tokens < 1:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return None
        self.tokens -= 1
        self.last_seen[key] = now
        if len(self.last_seen) > 1000:  # many distinct stacks: forget the oldest
            for old in sorted(self.last_seen, key=self.last_seen.__getitem__)[:500]:
                self.last_seen.pop(old, None)
        return self.suppressed.pop(key, 0)


class Watchdog:
    def __init__(
        self,
        settings: Settings,
        emit: Emit,
        count_slow: Callable[[], None],
        count_blocked: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._emit = emit
        self._count_slow = count_slow
        self._count_blocked = count_blocked
        self._clock = clock
        self._inflight: dict[int, InFlight] = {}
        self._limiter = _Limiter()
        self._limit_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._beat_sent: float | None = None  # a heartbeat the loop has not run yet
        self._blocked_since: float | None = None
        self._blocked_stack: list[Segment] | None = None
        self._stretches: list[tuple[float, list[Segment]]] = []  # ended, not yet written
        self._beat_lock = threading.Lock()
        self._started = False
        self._start_lock = threading.Lock()

    # -- called per request, on the request's own thread ---------------------------------

    def begin_asgi(self, scope: MutableMapping[str, Any]) -> InFlight | None:
        # On every request's path: what is the same for every request is looked up once.
        loop = self._loop
        if loop is None:
            if not self.settings.active:
                return None
            loop = asyncio.get_running_loop()
            self._watch_loop(loop)
        if self.settings.slow_request <= 0:
            return None
        request = InFlight(
            self._clock(),
            scope.get("method", ""),
            scope.get("path", ""),
            self._loop_thread,
            scope,
            asyncio.current_task(),
            loop,
        )
        self._inflight[id(request)] = request
        return request

    def begin_wsgi(self, environ: MutableMapping[str, Any]) -> InFlight | None:
        if self.settings.slow_request <= 0:
            return None
        if not self._started:
            self._start()
        request = InFlight(
            self._clock(),
            str(environ.get("REQUEST_METHOD", "")),
            str(environ.get("PATH_INFO", "")),
            threading.get_ident(),
        )
        self._inflight[id(request)] = request
        return request

    def end(self, request: InFlight) -> None:
        self._inflight.pop(id(request), None)

    # -- the watchdog thread -------------------------------------------------------------

    def _watch_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="gaia-watchdog", daemon=True).start()

    def _run(self) -> None:
        period = self.settings.period
        woke = self._clock()
        while True:
            time.sleep(period)
            now = self._clock()
            # This thread was itself held up (the whole process descheduled): the loop
            # was not blocked by its own code, so its heartbeat is not judged this time.
            late = now - woke - period > self.settings.blocked_loop / 2
            woke = now
            try:
                if self._loop is not None and self.settings.blocked_loop > 0:
                    self._check_loop(now, late)
                    self._write_stretches()
                if self.settings.slow_request > 0:
                    self._check_requests(now)
            except Exception as exc:  # the watchdog must never take a worker down
                self._emit([f"gaia: the slow-request watchdog failed: {type(exc).__name__}"])

    def _check_loop(self, now: float, late: bool) -> None:
        assert self._loop is not None
        sent = self._beat_sent
        if sent is None:
            self._beat_sent = now
            try:
                self._loop.call_soon_threadsafe(self._beat, now)
            except RuntimeError:  # the loop is closed: the worker is exiting
                self._loop = None
            return
        if late or self._blocked_since is not None or now - sent < self.settings.blocked_loop:
            return
        stack = [Segment("", thread_stack(self._loop_thread))]
        with self._beat_lock:
            if self._beat_sent != sent:
                return  # it ran while the stack was taken: the sample shows somewhere else
            self._blocked_since, self._blocked_stack = sent, stack

    def _beat(self, sent: float) -> None:
        """On the loop: it runs again. A stretch that was noticed is written by the
        watchdog thread, not here: formatting reads source files."""
        ran = self._clock()
        with self._beat_lock:
            if self._blocked_since is not None:
                self._stretches.append((ran - sent, self._blocked_stack or []))
            self._beat_sent, self._blocked_since, self._blocked_stack = None, None, None

    def _write_stretches(self) -> None:
        with self._beat_lock:
            stretches, self._stretches = self._stretches, []
        for lasted, stack in stretches:
            self._count_blocked()
            header = (
                f"blocked event loop: worker {os.getpid()}'s loop did not run for {lasted:.2f}s"
            )
            self._write(
                ("blocked", signature(stack)), [f"{header}, held here:", *format_segments(stack)]
            )

    def _check_requests(self, now: float) -> None:
        threshold = self.settings.slow_request
        for request in list(self._inflight.values()):
            if request.reported or now - request.started < threshold:
                continue
            request.reported = True
            self._count_slow()
            segments = self._stack(request)
            action = ""
            if self.settings.cancel and request.loop is not None:
                action = (
                    "; cancelled: aborting its response"
                    if request.response_started
                    else "; cancelled: answered 504"
                )
                self._cancel(request)
            route = request.route()
            header = (
                f"slow request: {request.method} {route} in flight for "
                f"{now - request.started:.1f}s in worker {os.getpid()}{action}, waiting here:"
            )
            self._write(
                ("request", request.method, route, signature(segments)),
                [header, *format_segments(segments)],
            )

    def _stack(self, request: InFlight) -> list[Segment]:
        if request.task is None or request.loop is None:
            return [Segment("", thread_stack(request.thread))]
        task = request.task
        if self._beat_sent is None or self._clock() - self._beat_sent < CAPTURE_WAIT:
            # Walked on the loop's own thread, where the chain cannot change underfoot.
            done: concurrent.futures.Future[list[Segment]] = concurrent.futures.Future()

            def capture() -> None:
                try:
                    done.set_result(task_stack(task, self._loop_thread))
                except Exception as exc:
                    done.set_exception(exc)

            try:
                request.loop.call_soon_threadsafe(capture)
                return done.result(CAPTURE_WAIT)
            except (RuntimeError, concurrent.futures.TimeoutError):
                pass
        # The loop is held (by this request, likely): it cannot walk anything now.
        return task_stack(task, self._loop_thread)

    def _cancel(self, request: InFlight) -> None:
        def cancel() -> None:
            if request.task is not None and not request.task.done():
                request.cancelled = True
                request.task.cancel()

        assert request.loop is not None
        with contextlib.suppress(RuntimeError):
            request.loop.call_soon_threadsafe(cancel)

    def _write(self, key: tuple[Any, ...], lines: list[str]) -> None:
        with self._limit_lock:
            more = self._limiter.allow(key, self._clock())
        if more is None:
            return
        if more:
            lines.append(f"  ({more} more like this in the last {DEDUP_SECONDS:g}s not shown)")
        if len(lines) > MAX_RECORD_LINES:
            lines = [*lines[: MAX_RECORD_LINES - 1], f"  ... {len(lines)} lines in all"]
        self._emit(lines)
