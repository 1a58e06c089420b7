"""gaia's receiver and endpoint in one event loop: datagrams in, Prometheus text out."""

from __future__ import annotations

import asyncio
import socket
import stat
from pathlib import Path

from gaia_runner.config.model import Bind, BindKind
from gaia_runner.metrics.service import MetricsService
from gaia_runner.metrics.wire import Batch, encode
from gaia_runner.supervise.state import AppState
from gaia_runner.view.snapshot import AppSnapshot, Snapshot


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

    async def scenario() -> tuple[bytes, bytes, int]:
        service = MetricsService(tmp_path / "run", endpoint, lambda: snapshot)
        await service.start()
        try:
            mode = stat.S_IMODE(service.socket_path.stat().st_mode)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
                for code in (200, 200, 503):
                    sender.sendto(
                        encode(Batch("web", {code: 1}, {0: 1}, 0.001)), str(service.socket_path)
                    )
                sender.sendto(b"garbage", str(service.socket_path))
            async with asyncio.timeout(5):
                while "web" not in service.store.apps or service.store.apps["web"].count < 3:
                    await asyncio.sleep(0.01)
            return await get(port, "/metrics"), await get(port, "/"), mode
        finally:
            service.close()

    metrics, other, mode = asyncio.run(scenario())
    assert mode == 0o600
    assert metrics.startswith(b"HTTP/1.1 200 OK")
    assert b'gaia_requests_total{app="web",code="200"} 2.0' in metrics
    assert b'gaia_requests_total{app="web",code="503"} 1.0' in metrics
    assert b'gaia_app_up{app="web"} 1.0' in metrics
    assert other.startswith(b"HTTP/1.1 404")
    assert not (tmp_path / "run" / "metrics.sock").exists()  # removed on close
