"""Change an app's worker count without restarting anything."""

from __future__ import annotations

from collections.abc import Callable

from gaia_runner.config.model import AppConfig
from gaia_runner.process.generation import Generation


async def scale_in_place(gen: Generation, app: AppConfig, notify: Callable[[str], None]) -> None:
    """Both servers take TTIN/TTOU on the master: a signal cannot vanish the way
    gunicorn's control socket does while the master re-creates it around forks."""
    old, new = gen.workers_desired, app.workers
    if old == new:
        return
    notify(f"scaling workers {old} -> {new}")
    if gen.server == "command":
        try:
            await gen.scale_copies(new, timeout=app.graceful_timeout)
        except OSError as exc:
            # EMFILE, ENOMEM: the copies already running are healthy and keep serving.
            gen.workers_desired = len(gen.children)
            notify(f"scaling to {new} stopped at {gen.workers_desired}: could not start: {exc}")
            return
    else:
        await gen.scale_signal(new - old)
    gen.workers_desired = new
