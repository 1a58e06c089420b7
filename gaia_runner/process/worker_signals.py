"""Grow or shrink a server's workers in place, one TTIN or TTOU per worker.

A signal sent while the one before is still pending is merged into it (by the kernel,
and again by Python's handler in the master), and the master then adds or retires one
worker where two were asked for. So each signal waits for the one before to be taken.
For TTIN that is seen: the master forks a child it did not have, usually within a few
milliseconds, and the next signal goes at once (a fixed 200 ms gap made a burst wait
0.2 s more for each worker after the first). A master that forks later (uvicorn acts
on its signals on a 0.5 s loop) or a TTOU (its worker leaves only when its requests
are done) gets the fixed gap, long enough for Python's handler to have run.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterable

GAP = 0.2
"""Seconds between two signals when the first one's effect cannot be seen sooner."""
POLL = 0.005
"""How often the master's children are read while a TTIN is being taken."""


async def send_each(
    send: Callable[[int], None],
    children: Callable[[], Iterable[int]],
    delta: int,
    *,
    gap: float = GAP,
    poll: float = POLL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """`delta` signals to the master (`send`), TTIN when positive; `children` reads the
    master's child pids."""
    sig = signal.SIGTTIN if delta > 0 else signal.SIGTTOU
    for _ in range(abs(delta)):
        before = set(children()) if delta > 0 else set()
        send(sig)
        deadline = clock() + gap
        while clock() < deadline:
            if delta > 0 and not set(children()) <= before:
                break
            await sleep(poll if delta > 0 else gap)
