"""The change stream behind `gaia top`: nothing is built without a subscriber, an unchanged
picture is not sent again, and a client that does not read holds one line, the latest."""

from __future__ import annotations

import asyncio
import json
import socket

from gaia_runner.control import Request
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.subscribers import Subscribers


def picture(restarts: int) -> Snapshot:
    return Snapshot(apps=(AppSnapshot("web", "gunicorn", AppState.RUNNING, restarts=restarts),))


def test_nothing_is_built_while_nobody_subscribes() -> None:
    def build() -> Snapshot:
        raise AssertionError("built a snapshot nobody reads")

    Subscribers().publish(build)


def test_a_client_gets_the_picture_then_only_changes_and_a_slow_one_only_the_latest() -> None:
    async def scenario() -> list[dict[str, object]]:
        hub = Subscribers()
        current = [picture(0)]
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        client_reader, client_writer = await asyncio.open_unix_connection(sock=theirs)
        serving = asyncio.create_task(
            hub.serve(Request("subscribe"), reader, writer, lambda: current[0])
        )
        lines = [json.loads(await client_reader.readline()) for _ in range(2)]
        async with asyncio.timeout(5):
            while not len(hub):
                await asyncio.sleep(0.01)
        hub.publish(lambda: current[0])  # unchanged: nothing sent
        # Three changes before the client reads: a slow client is owed only the last.
        for restarts in (1, 2, 3):
            current[0] = picture(restarts)
            hub.publish(lambda: current[0])
        lines.append(json.loads(await client_reader.readline()))
        client_writer.close()
        async with asyncio.timeout(5):
            await serving
        assert not len(hub)
        writer.close()
        return lines

    header, first, latest = asyncio.run(scenario())
    assert header["subscribed"] is True
    assert first["snapshot"]["apps"][0]["restarts"] == 0  # type: ignore[index]
    assert latest["snapshot"]["apps"][0]["restarts"] == 3  # type: ignore[index]
