"""One datagram channel per app: how its workers' request counts reach gaia.

gaia makes a connected socketpair for each app and hands the workers' end down as an
inherited fd (gunicorn's forked workers keep it; gaia's uvicorn launcher passes it to each
worker it spawns). The pair has no name in the file system, so an app that runs as another
user reaches gaia without anything in gaia's private run dir being opened to it, and no
other process, of whatever uid, can send on it: a datagram counts for the app whose channel
it arrived on, whatever app it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass

from gaia_runner.metrics.wire import MAX_DATAGRAM

# Datagrams read per wake-up: a flood on one channel cannot starve gaia's loop.
MAX_PER_WAKE = 64
Deliver = Callable[[str, bytes], None]


@dataclass(frozen=True)
class _Channel:
    gaia_end: socket.socket
    workers_end: socket.socket


class Channels:
    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._channels: dict[str, _Channel] = {}

    def workers_fd(self, app: str) -> int:
        """The fd an app's processes inherit to send on (one per app name, for every
        generation). Called from gaia's event loop, which reads gaia's end."""
        channel = self._channels.get(app)
        if channel is None:
            gaia_end, workers_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            gaia_end.setblocking(False)
            asyncio.get_running_loop().add_reader(gaia_end.fileno(), self._drain, app, gaia_end)
            channel = self._channels[app] = _Channel(gaia_end, workers_end)
        return channel.workers_end.fileno()

    def _drain(self, app: str, gaia_end: socket.socket) -> None:
        for _ in range(MAX_PER_WAKE):
            try:
                data = gaia_end.recv(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._deliver(app, data)

    def close(self) -> None:
        for channel in self._channels.values():
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(channel.gaia_end.fileno())
            channel.gaia_end.close()
            channel.workers_end.close()
        self._channels.clear()
