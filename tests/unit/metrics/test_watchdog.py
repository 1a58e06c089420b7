"""The watchdog's pieces without a server: the await-chain walk, the limiter, the record
datagram, and a fake-clocked watchdog noticing a request once."""

from __future__ import annotations

import asyncio
import threading

from gaia_runner.metrics.stacks import format_segments, task_stack
from gaia_runner.metrics.watchdog import (
    DEDUP_SECONDS,
    RATE_BURST,
    InFlight,
    Settings,
    Watchdog,
    _Limiter,
)
from gaia_runner.metrics.wire import MAX_DATAGRAM, decode, decode_record, encode_record


async def _inner(event: asyncio.Event) -> None:
    await event.wait()


async def _outer(event: asyncio.Event) -> None:
    await asyncio.gather(_inner(event), asyncio.to_thread(threading.Event().wait, 0.5))


def test_the_walk_follows_gather_children_and_the_thread() -> None:
    async def main() -> list[str]:
        event = asyncio.Event()
        task = asyncio.create_task(_outer(event))
        await asyncio.sleep(0.1)
        lines = list(format_segments(task_stack(task, threading.get_ident())))
        event.set()
        await task
        return lines

    text = "\n".join(asyncio.run(main()))
    assert "in _outer" in text and "in _inner" in text
    assert "-- gathered task" in text and "-- in thread asyncio_" in text
    assert "in Event.wait" in text


def test_the_limiter_writes_a_wait_once_per_window_then_says_how_many_more() -> None:
    limiter = _Limiter()
    assert limiter.allow(("a",), 0.0) == 0
    assert limiter.allow(("a",), 1.0) is None
    assert limiter.allow(("a",), 2.0) is None
    assert limiter.allow(("a",), DEDUP_SECONDS + 1) == 2


def test_the_limiter_bounds_distinct_waits() -> None:
    limiter = _Limiter()
    written = [limiter.allow((i,), 0.0) for i in range(50)]
    assert sum(w is not None for w in written) == RATE_BURST


def test_a_record_is_one_datagram_of_lines_never_a_batch() -> None:
    data = encode_record(["slow request: GET /x", "  File 'a', line 1\nforged", "x" * 5000])
    lines = decode_record(data)
    assert lines is not None and lines[1] == "  File 'a', line 1 forged" and len(lines[2]) <= 1000
    assert decode(data) is None
    assert len(encode_record(["y" * 900] * 400)) <= MAX_DATAGRAM


def test_a_slow_request_is_noticed_once_and_counted() -> None:
    now = [0.0]
    emitted: list[list[str]] = []
    counted: list[str] = []
    dog = Watchdog(
        Settings(1.0, False, 0.0),
        emitted.append,
        lambda: counted.append("slow"),
        lambda: counted.append("blocked"),
        clock=lambda: now[0],
    )
    request = InFlight(0.0, "GET", "/x", threading.get_ident())
    dog._inflight[id(request)] = request
    now[0] = 0.5
    dog._check_requests(now[0])
    assert not emitted
    now[0] = 1.5
    dog._check_requests(now[0])
    dog._check_requests(now[0] + 5)
    assert counted == ["slow"] and len(emitted) == 1
    assert emitted[0][0].startswith("slow request: GET /x in flight for 1.5s")
    assert any("test_a_slow_request_is_noticed_once_and_counted" in line for line in emitted[0])
