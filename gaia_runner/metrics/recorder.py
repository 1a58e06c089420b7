"""The worker side: count each finished request in memory, send the sums every interval.

A thread sends the batches so the same code serves asyncio (uvicorn, gunicorn's asgi worker)
and threaded WSGI workers. A batch gaia could not take (its buffer full, gaia restarting) is
kept and merged into the next one, so counts are late rather than lost.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
from dataclasses import dataclass

from gaia_runner.metrics.wire import Batch, bucket_index, encode

INTERVAL_ENV = "GAIA_METRICS_INTERVAL"
DEFAULT_INTERVAL = 0.5


class Recorder:
    def __init__(self, app: str) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pending = Batch(app)

    def record(self, code: int, seconds: float) -> None:
        index = bucket_index(seconds)
        with self._lock:
            pending = self._pending
            pending.codes[code] = pending.codes.get(code, 0) + 1
            pending.buckets[index] = pending.buckets.get(index, 0) + 1
            pending.seconds += seconds

    def take(self) -> Batch | None:
        with self._lock:
            if not self._pending.codes:
                return None
            batch, self._pending = self._pending, Batch(self.app)
        return batch

    def put_back(self, batch: Batch) -> None:
        with self._lock:
            batch.add(self._pending)
            self._pending = batch


class Sender:
    def __init__(self, recorder: Recorder, path: str, interval: float) -> None:
        self.recorder = recorder
        self.path = path
        self.interval = interval
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._send_lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> None:
        thread = threading.Thread(target=self._loop, name="gaia-metrics", daemon=True)
        thread.start()
        # A worker that exits normally (recycled, scaled down, stopped) sends its last sums.
        atexit.register(self.flush)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._send_lock:
            batch = self.recorder.take()
            if batch is None:
                return
            try:
                self._sock.sendto(encode(batch), self.path)
            except OSError:
                self.recorder.put_back(batch)


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
    path = os.environ.get("GAIA_METRICS_SOCKET")
    app = os.environ.get("GAIA_APP")
    if not path or not app:
        return None
    with _active_lock:
        if _active is None or _active.pid != os.getpid():
            recorder = Recorder(app)
            try:
                interval = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
            except ValueError:
                interval = DEFAULT_INTERVAL
            sender = Sender(recorder, path, max(0.05, interval))
            sender.start()
            _active = _Active(os.getpid(), recorder, sender)
        return _active.recorder


def flush() -> None:
    """Send what this process has counted now (a gunicorn worker_exit hook)."""
    active = _active
    if active is not None and active.pid == os.getpid():
        active.sender.flush()
