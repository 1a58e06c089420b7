"""An asyncio worker's event-loop lag: how late a timer fires. An ASGI worker accepts
every connection at once, so its backlog is not in the listening socket's queue but in
the loop: a handler that blocks it (sync I/O, CPU) delays every other request, and the
latency measured inside the app does not show the wait before a handler starts."""

from __future__ import annotations

import asyncio

from gaia_runner.metrics.recorder import Recorder

EVERY = 0.1  # seconds between ticks: a lag shorter than a tick can still be seen
_tasks: set[asyncio.Task[None]] = set()


async def _sample(recorder: Recorder, every: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(every)
        recorder.note_lag(max(0.0, loop.time() - before - every))


def start(recorder: Recorder, every: float = EVERY) -> None:
    """On the running loop, for as long as it runs (cancelled with it at shutdown)."""
    task = asyncio.get_running_loop().create_task(_sample(recorder, every), name="gaia-loop-lag")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
