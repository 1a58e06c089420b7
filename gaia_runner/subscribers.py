"""The change stream behind `gaia top`: a `subscribe` control request keeps its connection
and gets a snapshot line whenever the apps' picture changed.

A subscriber never slows gaia: each one holds at most one unsent line (a newer snapshot
replaces an unsent older one: drop to latest), its writes happen in its own task, and one
that does not read for DRAIN_TIMEOUT is disconnected. With nobody subscribed, nothing is
built. The snapshot is serialised once per tick, whatever the number of subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from gaia_runner import __version__
from gaia_runner.answers import SnapshotLine, SubscribeHeader
from gaia_runner.control import PROTOCOL, Request
from gaia_runner.model.snapshot import Snapshot

MAX_SUBSCRIBERS = 16
DRAIN_TIMEOUT = 30.0


class _Subscriber:
    def __init__(self) -> None:
        self.pending: bytes | None = None
        self.ready = asyncio.Event()

    def offer(self, line: bytes) -> None:
        self.pending = line  # an older unsent line is dropped: only the latest matters
        self.ready.set()

    def take(self) -> bytes | None:
        line, self.pending = self.pending, None
        self.ready.clear()
        return line


class Subscribers:
    def __init__(self) -> None:
        self._clients: set[_Subscriber] = set()
        self._last: bytes | None = None

    def __len__(self) -> int:
        return len(self._clients)

    def publish(self, build: Callable[[], Snapshot]) -> None:
        """Called on every refresh tick; builds a snapshot only when someone listens."""
        if not self._clients:
            self._last = None
            return
        line = _line(build())
        if line == self._last:
            return
        self._last = line
        for client in self._clients:
            client.offer(line)

    async def serve(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        build: Callable[[], Snapshot],
    ) -> None:
        """Stream to one client until it leaves (or stops reading)."""
        if len(self._clients) >= MAX_SUBSCRIBERS:
            writer.write(_header({"error": f"at most {MAX_SUBSCRIBERS} subscribers"}))
            await writer.drain()
            return
        client = _Subscriber()
        self._clients.add(client)
        # The client sends nothing more; end of file (or anything) means it left.
        left = asyncio.create_task(reader.read(1))
        try:
            writer.write(_header({"subscribed": True}))
            client.offer(_line(build()))
            while True:
                ready = asyncio.create_task(client.ready.wait())
                await asyncio.wait({ready, left}, return_when=asyncio.FIRST_COMPLETED)
                if left.done():
                    ready.cancel()
                    return
                line = client.take()
                if line is not None:
                    writer.write(line)
                    async with asyncio.timeout(DRAIN_TIMEOUT):
                        await writer.drain()
        finally:
            self._clients.discard(client)
            left.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await left


def _header(answer: SubscribeHeader) -> bytes:
    answer["protocol"], answer["gaia"] = PROTOCOL, __version__
    return json.dumps(answer).encode() + b"\n"


def _line(snapshot: Snapshot) -> bytes:
    line: SnapshotLine = {"snapshot": snapshot.to_json()}
    return json.dumps(line).encode() + b"\n"
