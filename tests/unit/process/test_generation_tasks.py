"""A generation's waits leave no task behind when their caller is cancelled: a pending
task collected with the generation is asyncio's "Task was destroyed but it is pending!",
printed into the live view after a failed start."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from gaia_runner.process.generation import Generation


def test_a_cancelled_first_exit_leaves_no_pending_task() -> None:
    async def run() -> set[asyncio.Task[Any]]:
        loop = asyncio.get_running_loop()
        child = SimpleNamespace(exited=loop.create_future(), pid=1)
        generation = Generation.__new__(Generation)
        generation.children = cast(Any, [child])
        generation._retired = set()
        generation._changed = asyncio.Event()
        waiter = asyncio.ensure_future(generation.first_exit())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await asyncio.sleep(0)  # let a cancelled task finish
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}

    assert asyncio.run(run()) == set()
