"""An immutable picture of the runner at one instant; the status view renders only this.

It crosses the control socket in one form, `to_json`/`from_json`, derived from the fields
themselves: a field added here reaches `gaia status` (table and --json) with no copy to
update. Unknown keys are ignored, so a CLI can read a newer gaia's snapshot."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gaia_runner.model.state import AppState


@dataclass(frozen=True)
class AppSnapshot:
    name: str
    server: str  # "gunicorn", "uvicorn" or "command"
    state: AppState
    pid: int | None = None
    workers_live: int = 0
    worker_pids: tuple[int, ...] = ()
    workers_desired: int = 0
    urls: tuple[str, ...] = ()
    memory_bytes: int | None = None  # USS/PSS of the whole tree
    memory_limit: int | None = None  # memory.total, if set
    largest_worker_bytes: int | None = None
    worker_limit: int | None = None  # memory.worker, if set
    cpu_percent: float | None = None  # whole tree, 100 = one core
    restarts: int = 0
    last_restart_reason: str | None = None
    uptime_seconds: float | None = None  # since the current generation became RUNNING
    backoff_seconds_left: float | None = None
    detail: str | None = None  # why it is FAILED/FATAL, or what STARTING waits for
    last_lines: tuple[str, ...] = ()  # the last output lines, kept for FAILED/FATAL
    unwritten_lines: int = 0  # output lines the log file could not take (a full disk)
    generation: int | None = None  # the serving generation; replaces and restarts count up
    rejected: str | None = None  # the last replace that was refused, while the old one serves
    stopped_by_request: bool = False  # `gaia stop`: stays stopped across reloads until started
    completed: bool = False  # a one-shot command exited 0 (restart = "never"/"on-failure")
    workers_in_file: int | None = None  # set when `gaia scale` made workers differ from the file
    workers_range: tuple[int, int] | None = None  # (min, max) while adaptive workers decide
    scale_events: tuple[tuple[str, int], ...] = ()  # ("up" / "down", changes adaptive made)
    # Requests per second over the last 2 s, latency and 5xx over 10 s (metrics/store.py);
    # None when the app is not measured.
    requests_per_second: float | None = None
    latency_p50: float | None = None  # seconds; None also when there were no requests
    latency_p99: float | None = None
    errors_5xx_share: float | None = None  # 0..1 of the requests
    loop_lag: float | None = None  # seconds: the worst asyncio event-loop lag, 10 s window
    # The wait before the app from a trusted proxy's X-Request-Start, 10 s window; None
    # without stamped requests.
    wait_p50: float | None = None
    wait_p99: float | None = None
    # Connections waiting in the app's listening sockets for a worker to accept them.
    accept_queue: int | None = None
    cpu_seconds_total: float = 0.0  # every process the app ever ran; never goes down
    restart_reasons: tuple[tuple[str, int], ...] = ()  # (reason, count), sorted by reason
    # (slow requests, blocked event loop stretches) since gaia started; None: not measured.
    slow_requests: tuple[int, int] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppSnapshot:
        values = _known(cls, data)
        return cls(**{**values, "state": AppState(values["state"])})


@dataclass(frozen=True)
class Snapshot:
    apps: tuple[AppSnapshot, ...]
    config_path: str = ""
    config_error: str | None = None  # an invalid edit that was not applied
    config_pending: bool = False  # the files changed since the running config was read
    notices: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: tuples become lists when dumped, the state is its string value.
        Field by field rather than dataclasses.asdict, whose deep copy made `gaia top`'s
        stream of 200 apps cost gaia ~2 % of a core."""
        document = {name: getattr(self, name) for name in _SNAPSHOT_FIELDS}
        document["apps"] = [{name: getattr(app, name) for name in _APP_FIELDS} for app in self.apps]
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        values = _known(cls, data)
        apps = tuple(AppSnapshot.from_json(app) for app in data["apps"])
        return cls(**{**values, "apps": apps})


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The fields `cls` has, JSON's lists made tuples again (the dataclasses are frozen)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: _frozen(value) for key, value in data.items() if key in names}


def _frozen(value: Any) -> Any:
    return tuple(_frozen(item) for item in value) if isinstance(value, list) else value


_APP_FIELDS = tuple(f.name for f in dataclasses.fields(AppSnapshot))
_SNAPSHOT_FIELDS = tuple(f.name for f in dataclasses.fields(Snapshot))
