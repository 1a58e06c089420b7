"""Close the race that makes a graceful uvicorn shutdown reset a fresh connection.

Stock uvicorn stops accepting and, in the same breath, closes every connection that
has no request in flight yet. A connection the kernel handed over a moment earlier,
whose request bytes are still unread, is among them and gets a reset. Generations of
a gaia app share one listening socket, so that moment is exactly when a replacement
takes over. Patched into each worker: stop accepting, let what was already accepted
read its request (waiting up to FIRST_REQUEST_SECONDS for one that has not arrived), then
shut down as uvicorn always does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gaia_runner import server_patches as patches

DRAIN_SECONDS = 0.3
# A connection accepted before the listener closed whose request has not arrived yet (a
# proxy's request delayed under load) is waited for this long from the stop, as gunicorn's
# gthread worker waits for a new connection's first bytes: closing it unread is a proxy's
# "upstream prematurely closed connection", a 502.
FIRST_REQUEST_SECONDS = 5.0
_CHECK_SECONDS = 0.05


def install() -> None:
    patches.on_uvicorn_shutdown(
        "drain", "the drain of accepted connections at shutdown", before=_drain
    )


async def _drain(server: Any) -> None:
    for listener in server.servers:
        listener.close()
    await asyncio.sleep(DRAIN_SECONDS)
    deadline = asyncio.get_running_loop().time() + FIRST_REQUEST_SECONDS - DRAIN_SECONDS
    while _awaiting_first_request(server) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(_CHECK_SECONDS)


def _awaiting_first_request(server: Any) -> bool:
    """Some HTTP connection has not received a request yet (uvicorn's HTTP protocols set
    `cycle` at the first one; other protocols have no `cycle` and are not waited for)."""
    return any(
        getattr(connection, "cycle", False) is None
        for connection in server.server_state.connections
    )
