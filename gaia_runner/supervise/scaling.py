"""Change an app's worker count without restarting anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gaia_runner.config.model import AppConfig, ServerKind
from gaia_runner.process.generation import Generation


def _gunicorn_command(socket_path: str, command: str) -> None:
    from gunicorn.ctl.client import ControlClient  # type: ignore[import-untyped]

    with ControlClient(socket_path, timeout=5.0) as client:
        client.send_command(command)


async def scale_in_place(gen: Generation, app: AppConfig, notify: Callable[[str], None]) -> None:
    old, new = gen.workers_desired, app.workers
    if old == new:
        return
    notify(f"scaling workers {old} -> {new}")
    if gen.server == "command":
        await gen.scale_copies(new, timeout=app.graceful_timeout)
    elif app.server is ServerKind.GUNICORN and gen.spec.control_socket is not None:
        # The control socket takes a count in one message; signals would need spacing.
        verb = "add" if new > old else "remove"
        await asyncio.to_thread(
            _gunicorn_command, str(gen.spec.control_socket), f"worker {verb} {abs(new - old)}"
        )
    else:
        await gen.scale_signal(new - old)
    gen.workers_desired = new
