"""What the outside world may ask of one app, and the mailbox that carries it.

A command is only ever removed from the mailbox by a synchronous `take`, after a
waiter has seen it there. Waiting consumes nothing, so a waiter that is cancelled
(a timeout, a stop, a finished phase) can never swallow a command: the bug class
where a forgotten `queue.get()` eats the next Stop cannot be written.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gaia_runner.config.model import AppConfig
from gaia_runner.process.sockets import Listener

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Replace:
    """Start a generation from `app` beside the current one, then retire the old one."""

    app: AppConfig
    listeners: tuple[Listener, ...]
    reason: str = "config change"
    skip_prestart: bool = False  # `gaia restart --skip-prestart`


@dataclass(frozen=True)
class Scale:
    """Run `app` in the serving tree: its worker count (TTIN/TTOU) and what the
    supervisor itself reads (memory, health, restart settings); nothing restarts."""

    app: AppConfig


@dataclass(frozen=True)
class Roll:
    """New workers under the serving master (HUP), no prestart: a renewed TLS file."""

    app: AppConfig
    reason: str
    skip_prestart: bool = True  # when the app is down, it starts again without prestart


@dataclass(frozen=True)
class Restart:
    reason: str = "restart requested"
    skip_prestart: bool = False


Command = Stop | Replace | Scale | Roll | Restart
Accept = Callable[[Command], bool]


def any_command(_: Command) -> bool:
    return True


def only_stop(command: Command) -> bool:
    return isinstance(command, Stop)


class Interrupted(Exception):
    """An accepted command arrived while a phase was being awaited."""

    def __init__(self, command: Command) -> None:
        self.command = command


class Mailbox(Generic[T]):
    """A FIFO whose waiters never consume: `wait` returns once an acceptable item is
    queued, and `take` removes the first acceptable one. Items that a phase does not
    accept stay queued, in order, for the next phase."""

    def __init__(self) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._changed = asyncio.Event()

    def put(self, item: T) -> None:
        self._items.append(item)
        self._changed.set()

    def __len__(self) -> int:
        return len(self._items)

    async def wait(self, accept: Callable[[T], bool]) -> None:
        while not any(accept(item) for item in self._items):
            self._changed.clear()
            await self._changed.wait()

    def take(self, accept: Callable[[T], bool]) -> T | None:
        for item in self._items:
            if accept(item):
                self._items.remove(item)
                return item
        return None

    async def unless(self, work: Awaitable[R], accept: Callable[[T], bool]) -> R:
        """Await `work` unless an accepted item arrives first: then `work` is cancelled
        and the item surfaces as Interrupted. Items not accepted stay queued."""
        task = asyncio.ensure_future(work)
        mail = asyncio.ensure_future(self.wait(accept))
        try:
            done, _ = await asyncio.wait({task, mail}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            item = self.take(accept)
            assert item is not None
            raise Interrupted(item)  # type: ignore[arg-type]
        finally:
            mail.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
