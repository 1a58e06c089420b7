"""Inside a uvicorn worker of an app bound only to unix sockets: trust one hop, the proxy.

gaia's default for such an app trusts every peer (`forwarded_allow_ips = "*"`), since
uvicorn cannot name a unix socket peer; uvicorn then takes the *leftmost* X-Forwarded-For
entry, which the client wrote whenever the proxy appends to the header (nginx's
`$proxy_add_x_forwarded_for`, Debian's `proxy_params`). This middleware sits outside
uvicorn's own and keeps only the last entry, the one the proxy itself added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

_HEADER = b"x-forwarded-for"


def last_hop(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with every X-Forwarded-For replaced by its last entry (if any)."""
    values = [value for name, value in headers if name.lower() == _HEADER]
    if not values:
        return headers
    kept = [(name, value) for name, value in headers if name.lower() != _HEADER]
    last = b",".join(values).rsplit(b",", 1)[-1].strip()
    return [*kept, (_HEADER, last)] if last else kept


class LastHopForwardedFor:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # A unix socket peer has no address (client None): that is the proxy's connection.
        if scope["type"] in ("http", "websocket") and scope.get("client") is None:
            scope["headers"] = last_hop(list(scope["headers"]))
        await self.app(scope, receive, send)


def wrap_uvicorn_config(config: Any) -> None:
    """Put the middleware around whatever this worker's uvicorn Config loads, outside
    uvicorn's ProxyHeadersMiddleware (which Config.load puts outermost)."""
    load = config.load

    def load_and_wrap() -> None:
        load()
        config.loaded_app = LastHopForwardedFor(config.loaded_app)

    config.load = load_and_wrap
