"""In-flight counts: a worker's gauge of requests being served, sent with its batches, and
summed per app by gaia (the gthread signal of adaptive workers)."""

from __future__ import annotations

import os

from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.store import INFLIGHT_STALE, RequestStore
from gaia_runner.metrics.wire import Batch, decode, encode


def test_a_worker_sends_its_in_flight_while_busy_and_once_when_it_drops_to_zero() -> None:
    recorder = Recorder("web")
    assert recorder.take() is None  # idle: nothing to send
    recorder.begin()
    recorder.begin()
    batch = recorder.take()
    assert batch is not None and (batch.pid, batch.inflight) == (os.getpid(), 2)
    again = recorder.take()  # still busy, nothing finished: the gauge is sent again
    assert again is not None and again.inflight == 2
    recorder.end()
    recorder.record(200, 0.01)
    recorder.end()
    recorder.record(200, 0.01)
    last = recorder.take()
    assert last is not None and last.inflight == 0 and last.count == 2
    assert recorder.take() is None


def test_in_flight_crosses_the_wire_and_a_later_reading_wins_a_merge() -> None:
    sent = Batch("web", {200: 1}, {0: 1}, 0.01, pid=42, inflight=3)
    got = decode(encode(sent))
    assert got is not None and (got.pid, got.inflight) == (42, 3)
    older = Batch("web", pid=42, inflight=5)
    older.add(Batch("web", {200: 1}, {0: 1}, 0.01))  # no reading: keeps 5
    assert older.inflight == 5
    older.add(Batch("web", pid=42, inflight=1))
    assert older.inflight == 1
    plain = decode(encode(Batch("web", {200: 1}, {0: 1}, 0.01)))
    assert plain is not None and plain.inflight is None


def test_gaia_sums_the_workers_readings_and_forgets_stale_ones() -> None:
    store = RequestStore()
    store.add(Batch("web", pid=1, inflight=3), now=10.0)
    store.add(Batch("web", pid=2, inflight=4), now=10.5)
    assert store.window("web", 10.5).in_flight == 7
    store.add(Batch("web", pid=1, inflight=2), now=11.0)  # the later reading replaces
    assert store.window("web", 11.0).in_flight == 6
    # Worker 2 exited without a last word: its reading expires.
    assert store.window("web", 10.5 + INFLIGHT_STALE + 0.1).in_flight == 2
    assert store.window("web", 11.0 + INFLIGHT_STALE + 0.1).in_flight == 0


def test_requests_counted_without_a_lock_are_exact_while_batches_are_taken() -> None:
    """begin/finish append to a deque that take() folds: requests on several threads,
    batches taken all along, and not one request lost or counted twice."""
    import threading

    recorder = Recorder("web")
    per_thread, threads = 20_000, 4
    taken: list[Batch] = []
    stop = threading.Event()

    def serve() -> None:
        for n in range(per_thread):
            recorder.begin()
            recorder.finish(200 if n % 2 else 404, 0.001)

    def send() -> None:
        while not stop.is_set():
            if (batch := recorder.take()) is not None:
                taken.append(batch)

    sender = threading.Thread(target=send)
    sender.start()
    workers = [threading.Thread(target=serve) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    sender.join()
    if (batch := recorder.take()) is not None:
        taken.append(batch)
    total = Batch("web")
    for batch in taken:
        total.add(batch)
    assert total.codes == {200: threads * per_thread // 2, 404: threads * per_thread // 2}
    assert sum(total.buckets.values()) == threads * per_thread
    readings = [b.inflight for b in taken if b.inflight is not None]
    assert not readings or readings[-1] == 0  # the last reading: nothing in flight
