"""Close the race that makes a graceful uvicorn shutdown reset a fresh connection.

Stock uvicorn stops accepting and, in the same breath, closes every connection that
has no request in flight yet. A connection the kernel handed over a moment earlier,
whose request bytes are still unread, is among them and gets a reset. Generations of
a gaia app share one listening socket, so that moment is exactly when a replacement
takes over. Patched into each worker: stop accepting, let what was already accepted
read its request, then shut down as uvicorn always does.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

DRAIN_SECONDS = 0.3


def install() -> None:
    from uvicorn.server import Server

    if getattr(Server.shutdown, "_gaia_drain", False):
        return
    original = Server.shutdown

    async def shutdown(self: Any, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await asyncio.sleep(DRAIN_SECONDS)
        await original(self, sockets)

    shutdown._gaia_drain = True  # type: ignore[attr-defined]
    Server.shutdown = shutdown  # type: ignore[method-assign]
