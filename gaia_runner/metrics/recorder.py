"""The worker side: count each finished request in memory, send the sums every interval.

A thread sends the batches so the same code serves asyncio (uvicorn, gunicorn's asgi worker)
and threaded WSGI workers, on the app's channel: an fd the worker inherited (see
channels.py). A batch gaia could not take yet (its queue full) is kept and merged into the
next one, so counts are late rather than lost. A worker that cannot send at all says so
once, in the app's log.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import errno
import operator
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gaia_runner.metrics.wire import CHANNEL_ENV, Batch, bucket_index, encode, encode_record

INTERVAL_ENV = "GAIA_METRICS_INTERVAL"
DEFAULT_INTERVAL = 0.5
# A worker's last flush has no next batch to merge into: it waits this long for room on
# the channel (gaia busy with a replace), then gives up rather than hold the exit.
LAST_FLUSH_WAIT = 2.0
_ENDED = (0, 0.0)
_code = operator.itemgetter(0)
_seconds = operator.itemgetter(1)


class Recorder:
    """Per-request calls (begin, end, finish) take no lock: they append to a deque (atomic),
    and take() folds what was appended into the batch on the sender's thread. A request
    path that answers in ~100 us has no room for two lock round trips (bench figure 11)."""

    def __init__(self, app: str) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pending = Batch(app)
        # None: a request began; (code, seconds): one ended, counted unless code is 0.
        self._events: collections.deque[tuple[int, float] | None] = collections.deque()
        self._inflight = 0
        self._sent_inflight = 0

    def begin(self) -> None:
        """A request started: in flight until end() or finish()."""
        self._events.append(None)

    def end(self) -> None:
        self._events.append(_ENDED)

    def finish(self, code: int, seconds: float) -> None:
        """end() and record() at once; a code of 0 only ends (a request cut short by the
        server's own shutdown is not counted)."""
        self._events.append((code, seconds))

    def record(self, code: int, seconds: float) -> None:
        index = bucket_index(seconds)
        with self._lock:
            pending = self._pending
            pending.codes[code] = pending.codes.get(code, 0) + 1
            pending.buckets[index] = pending.buckets.get(index, 0) + 1
            pending.seconds += seconds

    def _fold(self) -> None:
        """Under the lock: the per-request events so far, into the batch. Appends that
        race this popleft loop stay for the next fold."""
        events = self._events
        drained = [events.popleft() for _ in range(len(events))]
        if not drained:
            return
        ended = list(filter(None, drained))  # C-level passes: thousands of requests a fold
        self._inflight = max(0, self._inflight + len(drained) - 2 * len(ended))
        counted = list(filter(_code, ended))
        if not counted:
            return
        pending = self._pending
        for code, n in collections.Counter(map(_code, counted)).items():
            pending.codes[code] = pending.codes.get(code, 0) + n
        seconds = list(map(_seconds, counted))
        for index, n in collections.Counter(map(bucket_index, seconds)).items():
            pending.buckets[index] = pending.buckets.get(index, 0) + n
        pending.seconds += sum(seconds)

    def note_queue(self, seconds: float) -> None:
        """A request's wait before the app saw it (metrics/request_start.py)."""
        index = bucket_index(seconds)
        with self._lock:
            pending = self._pending
            pending.queue[index] = pending.queue.get(index, 0) + 1
            pending.queue_seconds += seconds

    def count_slow(self) -> None:
        with self._lock:
            self._pending.slow += 1

    def count_blocked(self) -> None:
        with self._lock:
            self._pending.blocked += 1

    def note_lag(self, seconds: float) -> None:
        with self._lock:
            self._pending.lag = max(self._pending.lag or 0.0, seconds)

    def take(self) -> Batch | None:
        with self._lock:
            self._fold()
            # In flight is sent while non-zero, and once more when it drops to zero: an
            # idle worker sends nothing.
            if self._inflight or self._sent_inflight:
                self._pending.pid, self._pending.inflight = os.getpid(), self._inflight
                self._sent_inflight = self._inflight
            if self._pending.empty():
                return None
            batch, self._pending = self._pending, Batch(self.app)
        return batch

    def put_back(self, batch: Batch) -> None:
        with self._lock:
            batch.add(self._pending)
            self._pending = batch


# gaia has not read the earlier batches yet: try again with the next one.
_LATER = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.EINTR)


def say_once_lost(reason: str) -> None:
    """In the app's log (a worker's stderr): its requests will not be counted."""
    print(
        f"gaia: request metrics of worker {os.getpid()} cannot reach gaia ({reason}); "
        "its requests are not counted",
        file=sys.stderr,
        flush=True,
    )


def wait_writable(channel: socket.socket, seconds: float) -> bool:
    """Room in the channel's send buffer within `seconds` (POLLOUT on a unix datagram
    socket: its buffered datagrams that gaia has not read yet leave room again)."""
    poller = select.poll()
    poller.register(channel, select.POLLOUT)
    return bool(poller.poll(max(0.0, seconds) * 1000))


class Sender:
    def __init__(
        self,
        recorder: Recorder,
        channel: socket.socket,
        interval: float,
        writable: Callable[[socket.socket, float], bool] = wait_writable,
    ) -> None:
        self.recorder = recorder
        self._writable = writable
        self.interval = interval
        self._sock = channel
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._lost = False

    def start(self) -> None:
        thread = threading.Thread(target=self._loop, name="gaia-metrics", daemon=True)
        thread.start()
        # A worker that exits normally (recycled, scaled down, stopped) sends its last sums.
        atexit.register(self.last_flush)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def last_flush(self) -> None:
        self.flush(wait=LAST_FLUSH_WAIT)

    def flush(self, wait: float = 0.0) -> None:
        """Send what was counted; a batch the channel cannot take yet is kept for the
        next flush, or, for up to `wait` seconds, sent as soon as there is room."""
        with self._send_lock:
            batch = self.recorder.take()
            if batch is None or self._lost:
                return
            deadline = time.monotonic() + wait
            while True:
                try:
                    # MSG_DONTWAIT: the fd is shared with the server and its other workers,
                    # so its blocking mode is not this worker's to change.
                    self._sock.send(encode(batch), socket.MSG_DONTWAIT)
                except OSError as exc:
                    if exc.errno not in _LATER:
                        self._lost = True
                        say_once_lost(exc.strerror or type(exc).__name__)
                        return
                else:
                    return
                left = deadline - time.monotonic()
                if left <= 0 or not self._writable(self._sock, left):
                    self.recorder.put_back(batch)
                    return

    def send_record(self, lines: list[str]) -> None:
        """Now, not with the next batch: a worker about to be killed has still said it.
        A record gaia cannot take now is dropped (it was counted)."""
        if self._lost:
            return
        with contextlib.suppress(OSError):
            self._sock.send(encode_record(lines), socket.MSG_DONTWAIT)


def open_channel() -> socket.socket | None:
    """This process's own copy of the inherited channel (a dup: a forked child's copy
    of its parent's sender closes its fd, never the one this process sends on)."""
    try:
        fd = os.dup(int(os.environ[CHANNEL_ENV]))
    except (ValueError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else None
        say_once_lost(f"its channel fd is unusable: {reason or 'not a number'}")
        return None
    try:
        channel = socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        say_once_lost("its channel fd is not a socket")
        return None
    if channel.type != socket.SOCK_DGRAM or channel.family != socket.AF_UNIX:
        channel.close()
        say_once_lost("its channel fd is not gaia's datagram socket")
        return None
    return channel


@dataclass(frozen=True)
class _Active:
    pid: int
    recorder: Recorder
    sender: Sender


_active: _Active | None = None
_active_lock = threading.Lock()


def process_recorder() -> Recorder | None:
    """This process's recorder, its sender thread started; None when gaia asked for none.
    Keyed by pid: a forked child gets its own, with a thread of its own."""
    global _active
    app = os.environ.get("GAIA_APP")
    if CHANNEL_ENV not in os.environ or not app:
        return None
    with _active_lock:
        if _active is None or _active.pid != os.getpid():
            channel = open_channel()
            if channel is None:
                return None
            recorder = Recorder(app)
            try:
                interval = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
            except ValueError:
                interval = DEFAULT_INTERVAL
            sender = Sender(recorder, channel, max(0.05, interval))
            sender.start()
            _active = _Active(os.getpid(), recorder, sender)
        return _active.recorder


def process_sender() -> Sender | None:
    """This process's sender, after process_recorder() started it."""
    active = _active
    return active.sender if active is not None and active.pid == os.getpid() else None


def flush() -> None:
    """Send what this process has counted, waiting for room: it is about to exit (a gunicorn
    worker_exit hook, the end of a uvicorn server's shutdown)."""
    active = _active
    if active is not None and active.pid == os.getpid():
        active.sender.last_flush()
