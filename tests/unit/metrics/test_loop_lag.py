"""An asyncio worker's event-loop lag: measured in the worker, carried in its batches, the
worst of the window shown (an ASGI worker's backlog is in its loop, not the socket queue)."""

from __future__ import annotations

import asyncio
import time

from gaia_runner.metrics import loop_lag
from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.store import WINDOW, AppRequests, RequestStore
from gaia_runner.metrics.wire import Batch, decode, encode
from gaia_runner.supervise.timing import Timings


def test_a_blocked_loop_is_seen_as_lag() -> None:
    recorder = Recorder("web")
    recorder.record(200, 0.001)

    async def block() -> None:
        loop_lag.start(recorder, every=0.02)
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # a handler doing sync work on the loop
        await asyncio.sleep(0.05)

    asyncio.run(block())
    batch = recorder.take()
    assert batch is not None and batch.lag is not None and batch.lag >= 0.25


def test_lag_travels_in_the_datagram_and_the_window_keeps_the_worst() -> None:
    sent = Batch("web", {200: 1}, {0: 1}, 0.001, lag=0.4)
    received = decode(encode(sent))
    assert received is not None and received.lag == 0.4
    assert decode(encode(Batch("web", {200: 1}, {0: 1}, 0.001))).lag is None  # type: ignore[union-attr]
    requests = AppRequests()
    requests.add(received, now=1.0)
    requests.add(Batch("web", {200: 1}, {0: 1}, 0.001, lag=0.1), now=2.0)
    assert requests.window(now=3.0).loop_lag == 0.4
    wsgi = AppRequests()
    wsgi.add(Batch("web", {200: 1}, {0: 1}, 0.001), now=1.0)
    assert wsgi.window(now=2.0).loop_lag is None  # not an asyncio worker: unknown, not 0


def test_a_shorter_lag_window_forgets_an_old_lag_sooner() -> None:
    # GAIA_LAG_WINDOW: a test's timer. The lag is the worst over its own window, the rest of
    # the window (latencies) is unchanged.
    for lag_window, seen in ((WINDOW, 0.4), (2.0, 0.1)):
        store = RequestStore(lag_window)
        store.add(Batch("web", {200: 1}, {0: 1}, 0.001, lag=0.4), now=1.0)
        store.add(Batch("web", {200: 1}, {0: 1}, 0.001, lag=0.1), now=3.5)
        stats = store.window("web", now=4.0)
        assert stats.loop_lag == seen
        assert stats.p50 is not None and stats.requests_per_second > 0
    assert RequestStore(60.0).lag_window == WINDOW  # never longer than the kept batches
    assert Timings.from_env({"GAIA_LAG_WINDOW": "2"}).lag_window == 2.0
    assert Timings.from_env({}).lag_window == WINDOW
