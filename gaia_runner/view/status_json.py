"""`gaia status --json`: the snapshot as a stable, documented document (docs/operations.md,
"Day-to-day operation"). Fields are only ever added; a removal or a change of meaning
bumps SCHEMA. Durations are seconds, sizes bytes, CPU percent of one core."""

from __future__ import annotations

from typing import Any

from gaia_runner.metrics.store import RATE_WINDOW, WINDOW
from gaia_runner.model.snapshot import AppSnapshot, Snapshot

SCHEMA = 1


def requests_document(app: AppSnapshot) -> dict[str, Any] | None:
    """What the table's request columns show; null for an app that is not measured."""
    if app.requests_per_second is None:
        return None
    return {
        "per_second": app.requests_per_second,
        "p50_seconds": app.latency_p50,
        "p99_seconds": app.latency_p99,
        "errors_5xx_share": app.errors_5xx_share,
        "window_seconds": WINDOW,
        "rate_window_seconds": RATE_WINDOW,
        "loop_lag_seconds": app.loop_lag,
        "wait_p50_seconds": app.wait_p50,
        "wait_p99_seconds": app.wait_p99,
    }


def _adaptive(app: AppSnapshot) -> dict[str, Any]:
    """Only for apps with `workers = { min, max }` (the others' documents are unchanged):
    the range while adaptive workers decide, and the changes they made."""
    if app.workers_range is None and not app.scale_events:
        return {}
    shown = list(app.workers_range) if app.workers_range is not None else None
    return {"range": shown, "scale_events": dict(app.scale_events)}


def app_document(app: AppSnapshot) -> dict[str, Any]:
    return {
        "name": app.name,
        "server": app.server,
        "state": app.state.value,
        "stopped_by_request": app.stopped_by_request,
        "pid": app.pid,
        "worker_pids": list(app.worker_pids),
        "workers": {
            "live": app.workers_live,
            "desired": app.workers_desired,
            "in_file": app.workers_in_file
            if app.workers_in_file is not None
            else app.workers_desired,
            **_adaptive(app),
        },
        "urls": list(app.urls),
        "memory": {
            "bytes": app.memory_bytes,
            "limit": app.memory_limit,
            "largest_worker_bytes": app.largest_worker_bytes,
            "worker_limit": app.worker_limit,
        },
        "cpu_percent": app.cpu_percent,
        "restarts": app.restarts,
        "last_restart_reason": app.last_restart_reason,
        "uptime_seconds": app.uptime_seconds,
        "backoff_seconds_left": app.backoff_seconds_left,
        "generation": app.generation,
        "detail": app.detail,
        "last_rejected_replace": app.rejected,
        "last_lines": list(app.last_lines),
        "unwritten_lines": app.unwritten_lines,
        # None when the app is not measured (a command, or metrics = false).
        "slow_requests": None if app.slow_requests is None else app.slow_requests[0],
        "blocked_loops": None if app.slow_requests is None else app.slow_requests[1],
        "requests": requests_document(app),
        "accept_queue": app.accept_queue,
    }


def status_document(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "config": {
            "path": snapshot.config_path,
            "applied": snapshot.config_error is None and not snapshot.config_pending,
            "error": snapshot.config_error,
        },
        "apps": [app_document(app) for app in snapshot.apps],
    }
