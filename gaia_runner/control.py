"""gaia's own control socket: `gaia status` and `gaia restart` talk to a running gaia.

One JSON request line in, one JSON answer line out, over a unix socket only the
owner may open. Snapshots travel as plain dicts and are rebuilt on the client side,
so `gaia status` renders exactly what the live table shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gaia_runner.process.launch import short_socket_path
from gaia_runner.supervise.state import AppState
from gaia_runner.view.snapshot import AppSnapshot, Snapshot

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlError(Exception):
    pass


def control_path(state_dir: Path) -> Path:
    return short_socket_path(state_dir / "gaia.sock")


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, Any]:
    return dataclasses.asdict(snapshot)


def snapshot_from_dict(data: dict[str, Any]) -> Snapshot:
    apps = tuple(
        AppSnapshot(
            **{
                **app,
                "state": AppState(app["state"]),
                "urls": tuple(app["urls"]),
                "last_lines": tuple(app["last_lines"]),
            }
        )
        for app in data["apps"]
    )
    return Snapshot(
        apps=apps,
        config_path=data["config_path"],
        config_error=data["config_error"],
        notices=tuple(data["notices"]),
    )


async def serve(path: Path, handler: Handler) -> asyncio.Server:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            answer = await handler(request)
        except (ValueError, KeyError) as exc:
            answer = {"error": f"bad request: {exc}"}
        writer.write(json.dumps(answer).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(on_client, str(path))
    path.chmod(0o600)
    return server


def request(path: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Blocking client for the CLI."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ControlError(f"no running gaia answers at {path} ({exc.strerror})") from exc
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer: dict[str, Any] = json.loads(data)
    if "error" in answer:
        raise ControlError(answer["error"])
    return answer
