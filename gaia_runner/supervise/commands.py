"""What the outside world may ask of one app, and the mailbox that carries it.

A command is only ever removed from the mailbox by a synchronous `take`, after a
waiter has seen it there. Waiting consumes nothing, so a waiter that is cancelled
(a timeout, a stop, a finished phase) can never swallow a command: the bug class
where a forgotten `queue.get()` eats the next Stop cannot be written.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gaia_runner.config.model import AppConfig
from gaia_runner.process.sockets import Listener

T = TypeVar("T")


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
    app: AppConfig


@dataclass(frozen=True)
class Restart:
    reason: str = "restart requested"
    skip_prestart: bool = False


Command = Stop | Replace | Scale | Restart
Accept = Callable[[Command], bool]


def any_command(_: Command) -> bool:
    return True


def only_stop(command: Command) -> bool:
    return isinstance(command, Stop)


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
