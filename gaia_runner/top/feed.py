"""The client side of the `subscribe` control request: snapshots as gaia sends them."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gaia_runner import control
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.process.unix_path import connect_unix

# A snapshot of many apps is one long line.
MAX_LINE = 64 * 1024 * 1024


class StreamEnded(control.ControlError):
    """gaia closed the stream: it stopped, or dropped this client."""


async def snapshots(path: Path) -> AsyncIterator[Snapshot]:
    """Connects over the same owner-only socket as every other command (no other way in)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connect_unix(sock, path)
    except OSError as exc:
        sock.close()
        raise control.NotRunning(f"no running gaia answers at {path} ({exc.strerror})") from exc
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=MAX_LINE)
    try:
        request = {"command": "subscribe", "protocol": control.PROTOCOL}
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        header = _parse(await reader.readline())
        if header.get("protocol", 1) != control.PROTOCOL or "error" in header:
            raise control.OtherVersion(
                f"the running gaia ({header.get('gaia', 'an older version')}) has no change "
                f"stream for `gaia top` ({header.get('error', 'another protocol')}): "
                "restart it (`gaia down`, then `gaia up`) to use this version"
            )
        while line := await reader.readline():
            yield Snapshot.from_json(_parse(line)["snapshot"])
        raise StreamEnded("gaia closed the connection (it stopped?)")
    finally:
        writer.close()


def _parse(line: bytes) -> dict[str, Any]:
    if not line:
        raise StreamEnded("gaia closed the connection without an answer")
    try:
        answer = json.loads(line)
    except ValueError:
        raise StreamEnded("gaia sent something that is not JSON") from None
    if not isinstance(answer, dict):
        raise StreamEnded("gaia sent something that is not a JSON object")
    return answer
