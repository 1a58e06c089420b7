"""The resolved, typed, frozen shape of a gaia.toml.

These models are the product's contract: every key a user can write is declared
here once, with its default, and the loader turns pydantic's errors into
messages that name the TOML line. Values arrive already normalised (durations
in seconds, sizes in bytes, paths absolute), so nothing downstream parses text.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gaia_runner.config.units import parse_duration, parse_size

Seconds = Annotated[float, BeforeValidator(parse_duration)]
Bytes = Annotated[int, BeforeValidator(parse_size)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


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


class Bind(_Frozen):
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


class HttpsConfig(_Frozen):
    certfile: Path
    keyfile: Path
    ca_certs: Path | None = None
    client_auth: ClientAuth = ClientAuth.NONE


class MemoryLimits(_Frozen):
    worker: Bytes | None = None
    total: Bytes | None = None
    interval: Seconds = 1.0
    samples: int = Field(default=3, ge=1)


class HealthCheck(_Frozen):
    path: str = "/"
    interval: Seconds = 5.0
    timeout: Seconds = 5.0
    failures: int = Field(default=3, ge=1)


class Backoff(_Frozen):
    initial: Seconds = 1.0
    factor: float = Field(default=2.0, ge=1.0)
    max: Seconds = 60.0
    reset_after: Seconds = 60.0


class AppConfig(_Frozen):
    """One [apps.NAME] table. Exactly one of `app` and `command` is set."""

    name: str
    app: str | None = None
    command: tuple[str, ...] | None = None
    server: ServerKind = ServerKind.GUNICORN
    worker_class: WorkerClass = WorkerClass.UVICORN
    workers: int = Field(default=1, ge=1)
    bind: tuple[Bind, ...] = ()
    cwd: Path
    env: Mapping[str, str] = Field(default_factory=dict)
    """Fully merged: [gaia].env_file < app env_file < app env. Never printed."""
    env_file: Path | None = None
    prestart: tuple[tuple[str, ...], ...] = ()
    prestart_timeout: Seconds = 300.0
    https: HttpsConfig | None = None
    timeout: Seconds = 30.0
    graceful_timeout: Seconds = 30.0
    max_requests: int = Field(default=0, ge=0)
    max_requests_jitter: int = Field(default=0, ge=0)
    threads: int = Field(default=1, ge=1)
    access_log: bool = False
    """One line per request. Off by default, as in gunicorn: every line also passes
    through gaia, which costs throughput on a busy app."""
    start_timeout: Seconds = 60.0
    restart: RestartPolicy = RestartPolicy.ALWAYS
    max_start_failures: int = Field(default=5, ge=1)
    backoff: Backoff = Backoff()
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
    gunicorn: Mapping[str, Any] = Field(default_factory=dict)
    uvicorn: Mapping[str, Any] = Field(default_factory=dict)
    metrics: bool = True
    """Measure every request (req/s, latency, 5xx); False: the app is not wrapped at all."""

    @property
    def is_command(self) -> bool:
        return self.command is not None

    @property
    def is_https(self) -> bool:
        return self.https is not None


class LogRotation(_Frozen):
    """[gaia].logs: each file in state_dir/logs rolls over at max_size; NAME.log.1 ..
    NAME.log.KEEP hold the previous ones."""

    max_size: Bytes = 10 * 1024 * 1024
    keep: int = Field(default=3, ge=0)


class RunnerSettings(_Frozen):
    """The [gaia] table."""

    state_dir: Path
    stop_timeout: Seconds = 30.0
    env_file: Path | None = None
    image: str | None = None
    """Container image that `gaia export` puts in manifests when --image is not given."""
    user: str | None = None
    logs: LogRotation = LogRotation()
    metrics: Bind | None = None
    """Where gaia serves Prometheus text at /metrics; None: not served."""


class GaiaConfig(_Frozen):
    source: Path
    gaia: RunnerSettings
    apps: Mapping[str, AppConfig]


LogMode = Literal["tui", "plain"]
