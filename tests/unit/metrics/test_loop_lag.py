"""An asyncio worker's event-loop lag: measured in the worker, carried in its batches, the
worst of the window shown (an ASGI worker's backlog is in its loop, not the socket queue)."""

from __future__ import annotations

import asyncio
import time

from gaia_runner.metrics import loop_lag
from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.store import AppRequests
from gaia_runner.metrics.wire import Batch, decode, encode


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
