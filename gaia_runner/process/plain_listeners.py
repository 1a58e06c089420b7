"""Hand a gunicorn uvicorn worker its listening sockets as plain sockets.

uvloop closes a server's fd through libuv, then closes the socket object it was given and
ignores the EBADF that follows. Given gunicorn's listener wrapper instead, the wrapper
catches that OSError itself and logs "Error while closing socket [Errno 9] Bad file
descriptor" for every listener of every worker at each stop (twice with gaia's probe
socket). The worker uses its listeners only to hand them to uvicorn; the master keeps
its own wrappers.
"""

from __future__ import annotations

from typing import Any


def unwrap_listeners(worker: Any) -> None:
    worker.sockets = [getattr(listener, "sock", None) or listener for listener in worker.sockets]
