"""gaia's receiver and endpoint in one event loop: datagrams in, Prometheus text out."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from gaia_runner.config.model import Bind, BindKind
from gaia_runner.metrics.service import MetricsService
from gaia_runner.metrics.wire import CHANNEL_ENV, Batch, encode
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return data


def test_datagrams_are_merged_and_served(tmp_path: Path) -> None:
    port = free_port()
    endpoint = Bind(kind=BindKind.TCP, host="127.0.0.1", port=port)
    snapshot = Snapshot(apps=(AppSnapshot(name="web", server="uvicorn", state=AppState.RUNNING),))

    async def scenario() -> tuple[bytes, bytes]:
        service = MetricsService(endpoint, lambda: snapshot)
        await service.start()
        try:
            fd = int(service.child_env("web")[CHANNEL_ENV])
            with socket.socket(fileno=os.dup(fd)) as sender:
                for code in (200, 200, 503):
                    sender.send(encode(Batch("web", {code: 1}, {0: 1}, 0.001)))
                sender.send(b"garbage")
            async with asyncio.timeout(5):
                while "web" not in service.store.apps or service.store.apps["web"].count < 3:
                    await asyncio.sleep(0.01)
            return await get(port, "/metrics"), await get(port, "/")
        finally:
            service.close()

    metrics, other = asyncio.run(scenario())
    assert metrics.startswith(b"HTTP/1.1 200 OK")
    assert b'gaia_requests_total{app="web",code="200"} 2.0' in metrics
    assert b'gaia_requests_total{app="web",code="503"} 1.0' in metrics
    assert b'gaia_app_up{app="web"} 1.0' in metrics
    assert other.startswith(b"HTTP/1.1 404")
    assert not list(tmp_path.iterdir())  # no socket file anywhere: channels have no name


def test_a_batch_counts_for_the_channel_it_came_on_not_the_app_it_names() -> None:
    async def scenario() -> dict[str, int]:
        service = MetricsService(None, Snapshot)
        await service.start()
        try:
            web = int(service.child_env("web")[CHANNEL_ENV])
            api = int(service.child_env("api")[CHANNEL_ENV])
            assert web != api and service.child_env("web")[CHANNEL_ENV] == str(web)
            with socket.socket(fileno=os.dup(api)) as sender:
                sender.send(encode(Batch("web", {200: 5}, {0: 5}, 0.005)))  # claims "web"
            async with asyncio.timeout(5):
                while "api" not in service.store.apps:
                    await asyncio.sleep(0.01)
            return {name: requests.count for name, requests in service.store.apps.items()}
        finally:
            service.close()

    assert asyncio.run(scenario()) == {"api": 5}
