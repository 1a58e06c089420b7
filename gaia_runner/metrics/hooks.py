"""Where the middleware goes in: called inside each worker once the server has loaded the app.

Gunicorn: the generated config's post_worker_init hook replaces the worker's loaded app
(``wsgi``, or ``asgi`` for gunicorn's own ASGI worker). Uvicorn: gaia's launcher wraps the
worker's Config.load. Either way the server imports the user's app (factories included)
exactly as it would without gaia, and its error handling is untouched.
"""

from __future__ import annotations

import os
from typing import Any

from gaia_runner import server_patches as patches
from gaia_runner.metrics import loop_lag
from gaia_runner.metrics.middleware import ASGIMetrics, NotePeer, WSGIMetrics
from gaia_runner.metrics.recorder import Recorder, flush, process_recorder, process_sender
from gaia_runner.metrics.request_start import TRUST_ENV, ProxyTrust
from gaia_runner.metrics.watchdog import Watchdog, settings_from_env

__all__ = ["flush", "wrap_gunicorn_worker", "wrap_uvicorn_server"]


def process_watchdog(recorder: Recorder) -> Watchdog | None:
    """This worker's slow-request watchdog (its thread starts with the first request), or
    None when gaia asked for none."""
    settings = settings_from_env(os.environ)
    sender = process_sender()
    if settings is None or sender is None:
        return None
    return Watchdog(settings, sender.send_record, recorder.count_slow, recorder.count_blocked)


def process_trust() -> ProxyTrust | None:
    """Who may stamp X-Request-Start (request_start.py); None when gaia said nothing."""
    value = os.environ.get(TRUST_ENV)
    return ProxyTrust.from_env(value) if value else None


def wrap_gunicorn_worker(worker: Any, interface: str) -> None:
    recorder = process_recorder()
    if recorder is None:
        return
    watchdog = process_watchdog(recorder)
    trust = process_trust()
    if hasattr(worker, "asgi"):  # gunicorn's own ASGI worker keeps the app here
        worker.asgi = ASGIMetrics(worker.asgi, recorder, watchdog, trust)
    elif interface == "wsgi":
        worker.wsgi = WSGIMetrics(worker.wsgi, recorder, watchdog, trust)
    else:
        worker.wsgi = ASGIMetrics(worker.wsgi, recorder, watchdog, trust)
        if trust is not None:  # one more layer on every request: only when it is read
            _note_peer_outermost(worker.config)
        _flush_after_uvicorn_shutdown()
        _lag_from_uvicorn_startup(recorder)


def wrap_uvicorn_server(config: Any) -> None:
    """Make this worker's uvicorn Config wrap the app it loads. After uvicorn's own load,
    the app is always ASGI 3 (uvicorn adapts ASGI 2 and WSGI apps itself)."""
    recorder = process_recorder()
    if recorder is None:
        return
    load = config.load
    watchdog = process_watchdog(recorder)

    trust = process_trust()

    def load_and_wrap() -> None:
        load()
        config.loaded_app = ASGIMetrics(config.loaded_app, recorder, watchdog, trust)

    config.load = load_and_wrap
    _flush_after_uvicorn_shutdown()
    _lag_from_uvicorn_startup(recorder)


def _note_peer_outermost(config: Any) -> None:
    """A UvicornWorker's Config.load puts ProxyHeadersMiddleware around ASGIMetrics:
    the connection's own peer is noted outside it (middleware.py's NotePeer)."""
    load = config.load

    def load_and_wrap() -> None:
        load()
        config.loaded_app = NotePeer(config.loaded_app)

    config.load = load_and_wrap


def _flush_after_uvicorn_shutdown() -> None:
    """A uvicorn worker re-raises the SIGTERM it caught once it has shut down, with the
    default action in place: the process dies at once, with no atexit and no gunicorn
    worker_exit. So the last sums go out when the server has finished its last request."""
    patches.on_uvicorn_shutdown(
        "metrics flush", "the last metrics of a stopping worker", after=flush
    )


def _lag_from_uvicorn_startup(recorder: Recorder) -> None:
    """Sample the event-loop lag on the loop uvicorn serves from (metrics/loop_lag.py)."""
    patches.after_uvicorn_startup(
        "loop lag", "the event-loop lag measure", lambda: loop_lag.start(recorder)
    )
