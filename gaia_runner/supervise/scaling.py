"""Apply an edit to the serving tree: worker count, the supervisor's own settings, or
new workers under the same master."""

from __future__ import annotations

import signal
from collections.abc import Callable

from gaia_runner.config.model import AppConfig
from gaia_runner.process.generation import Generation
from gaia_runner.supervise.commands import Roll, Scale
from gaia_runner.supervise.restarts import RestartTracker


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


async def roll_workers(
    gen: Generation, app: AppConfig, notify: Callable[[str], None], reason: str
) -> None:
    """HUP: both masters start new workers (which read the TLS files afresh) and retire
    the old ones gracefully. Gunicorn re-reads its config file on HUP, so an edit of what
    it reads is written there first; its HUP also resets the worker count to the file's,
    so a count changed since by TTIN/TTOU is set again."""
    if gen.server == "command":
        return
    notify(f"rolling the workers ({reason} changed; no prestart)")
    if app != gen.app and gen.relaunch is not None:
        gen.spec = gen.relaunch(app)
        gen.launched_workers = gen.workers_desired = app.workers
    gen.leader.send_signal(signal.SIGHUP)
    if gen.server == "gunicorn" and gen.workers_desired != gen.launched_workers:
        await gen.scale_signal(gen.workers_desired - gen.launched_workers)


async def in_place(
    gen: Generation, command: Scale | Roll, tracker: RestartTracker, notify: Callable[[str], None]
) -> None:
    """No process is started but new workers: the next watch of `gen` reads its app
    (memory, health), the tracker takes the restart settings with the history kept."""
    app = command.app
    if isinstance(command, Roll):
        await roll_workers(gen, app, notify, command.reason)
    else:
        await scale_in_place(gen, app, notify)
    gen.app = app
    tracker.retune(app.backoff, app.max_start_failures)
