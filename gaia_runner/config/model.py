"""The resolved, typed, frozen shape of a gaia.toml.

These models are the product's contract: every key a user can write is declared
here once, with its default (raw.py declares what may be written, and how it is
checked). Values arrive already normalised (durations in seconds, sizes in
bytes, paths absolute, arrays as tuples), so nothing downstream parses text.
Plain frozen dataclasses: the running gaia holds them for its whole life.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Literal


class ServerKind(StrEnum):
    GUNICORN = "gunicorn"
    UVICORN = "uvicorn"


class WorkerClass(StrEnum):
    UVICORN = "uvicorn"  # uvicorn_worker.UvicornWorker (ASGI)
    ASGI = "asgi"  # gunicorn's own ASGI worker
    SYNC = "sync"  # WSGI
    GTHREAD = "gthread"  # WSGI, threaded


class RestartPolicy(StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


class BindKind(StrEnum):
    TCP = "tcp"
    UNIX = "unix"


@dataclass(frozen=True, kw_only=True)
class Bind:
    """One listening address. gaia binds it itself and hands the fd down."""

    kind: BindKind
    host: str = ""
    port: int = 0
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind is BindKind.UNIX:
            return f"unix:{self.path}"
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def url(self, https: bool) -> str:
        scheme = "https" if https else "http"
        if self.kind is BindKind.UNIX:
            return f"{scheme}+unix://{self.path}"
        return f"{scheme}://{self}"


class ClientAuth(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True, kw_only=True)
class HttpsConfig:
    certfile: Path
    keyfile: Path
    ca_certs: Path | None = None
    client_auth: ClientAuth = ClientAuth.NONE


@dataclass(frozen=True, kw_only=True)
class MemoryLimits:
    worker: int | None = None
    total: int | None = None
    interval: float = 1.0
    samples: int = 3


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    path: str = "/"
    interval: float = 5.0
    timeout: float = 5.0
    failures: int = 3


@dataclass(frozen=True, kw_only=True)
class WorkersRange:
    """`workers = { min, max }`: gaia adds workers while requests wait and retires them
    when the app is idle (supervise/adaptive.py decides)."""

    min: int
    max: int
    max_auto: bool = False  # `max = "auto"`: `max` is this machine's CPU count
    up_after: float = 0.3
    """A queue this long is a burst, not a blip: adding a worker costs a fork and memory.
    Read every 100 ms, a 200 ms queue is seen for 0.2 s at most; each 0.1 s more is
    ~5 requests more in figure 15's tail, where the first added worker is what counts."""
    down_after: float = 5.0
    """Idle this long before each retirement, so a steady load does not flap."""
    step: int = 4
    """At most this many workers added at once (and one per 2 connections waiting): a
    burst is met in one step, a wrong reading cannot add more. Figure 15 with step 2
    spent ~0.3 s at 1 -> 3 workers before its second step: ~50 requests over the p99."""


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial: float = 1.0
    factor: float = 2.0
    max: float = 60.0
    reset_after: float = 60.0


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """One [apps.NAME] table. Exactly one of `app` and `command` is set."""

    name: str
    app: str | None = None
    command: tuple[str, ...] | None = None
    server: ServerKind = ServerKind.GUNICORN
    worker_class: WorkerClass = WorkerClass.UVICORN
    workers: int = 1
    workers_auto: bool = False  # `workers = "auto"`: `workers` is this machine's CPU count
    workers_range: WorkersRange | None = None
    """Adaptive workers; `workers` is then the count gaia starts with (`min`)."""
    bind: tuple[Bind, ...] = ()
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Fully merged: [gaia].env_file < app env_file < app env. Never printed."""
    env_file: Path | None = None
    prestart: tuple[tuple[str, ...], ...] = ()
    prestart_timeout: float = 300.0
    retry_prestart: bool = True
    """A failed step is a failed start (backoff, then FATAL after max_start_failures);
    False: the app goes FAILED at once (a migration that is not safe to run twice)."""
    depends_on: Mapping[str, str] = field(default_factory=dict)
    """App name -> "started", "serving" or "completed": reached before this app starts."""
    https: HttpsConfig | None = None
    timeout: float = 30.0
    graceful_timeout: float = 30.0
    max_requests: int = 0
    max_requests_jitter: int = 0
    threads: int = 1
    access_log: bool = False
    """One line per request. Off by default, as in gunicorn: every line also passes
    through gaia, which costs throughput on a busy app."""
    start_timeout: float = 60.0
    restart: RestartPolicy = RestartPolicy.ALWAYS
    max_start_failures: int = 5
    backoff: Backoff = field(default_factory=lambda: Backoff())
    memory: MemoryLimits | None = None
    health: HealthCheck | None = None
    socket_mode: int = 0o666
    """Permission bits of every unix socket the app is bound to (as uvicorn's --uds)."""
    socket_user: str | None = None
    socket_group: str | None = None
    forwarded_allow_ips: tuple[str, ...] | None = None
    """None: the server's default (127.0.0.1 and ::1), or "*" for an app on unix sockets only."""
    user: str | None = None
    """Run the app's processes as this user (gaia binds the sockets first, as root)."""
    gunicorn: Mapping[str, Any] = field(default_factory=dict)
    uvicorn: Mapping[str, Any] = field(default_factory=dict)
    metrics: bool = True
    """Measure every request (req/s, latency, 5xx); False: the app is not wrapped at all."""
    slow_request: float = 10.0
    """Log the stack of a request in flight this long (0: off). On by default: it costs a
    dict entry per request, and the stack of the first hang is the one you want."""
    slow_request_action: str = "log"
    """Either "log", or "cancel": an asyncio worker then ends the request with a 504."""
    blocked_loop: float = 0.2
    """Log what holds an asyncio worker's event loop for this long (0: off)."""

    @property
    def is_command(self) -> bool:
        return self.command is not None

    @property
    def is_https(self) -> bool:
        return self.https is not None

    @property
    def is_measured(self) -> bool:
        """Request metrics on: gaia wraps the workers of a web app whose `metrics` is on."""
        return self.app is not None and self.metrics


@dataclass(frozen=True, kw_only=True)
class LogRotation:
    """[gaia].logs: each file in state_dir/logs rolls over at max_size; NAME.log.1 ..
    NAME.log.KEEP hold the previous ones."""

    max_size: int = 10 * 1024 * 1024
    keep: int = 3


@dataclass(frozen=True, kw_only=True)
class RunnerSettings:
    """The [gaia] table."""

    state_dir: Path
    stop_timeout: float = 30.0
    env_file: Path | None = None
    image: str | None = None
    """Container image that `gaia export` puts in manifests when --image is not given."""
    user: str | None = None
    logs: LogRotation = field(default_factory=lambda: LogRotation())
    metrics: Bind | None = None
    """Where gaia serves Prometheus text at /metrics; None: not served."""


@dataclass(frozen=True, kw_only=True)
class GaiaConfig:
    source: Path
    gaia: RunnerSettings
    apps: Mapping[str, AppConfig]


LogMode = Literal["tui", "plain"]


def as_plain(value: Any) -> Any:
    """A model as JSON-shaped data: tables as dicts, tuples as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
