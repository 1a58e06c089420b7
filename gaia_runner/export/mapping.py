"""What every export format shares: how one gaia app becomes one container.

The default follows the usual advice for orchestrators: one server process per
container (uvicorn with one worker for ASGI apps, a gunicorn master with one worker
for WSGI apps) and let the cluster replicate it, so `workers` becomes a replica count.
`--runner gaia` instead runs `gaia up NAME` in each container for users who want
gaia's own memory recycling and health restarts there.

Server flags come from process/launch.py's own option builders, so an exported
command asks the server for what `gaia up` asks it for.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from gaia_runner.config.apptarget import parse_app_target
from gaia_runner.config.model import (
    AppConfig,
    Backoff,
    Bind,
    BindKind,
    GaiaConfig,
    HttpsConfig,
    ServerKind,
    WorkerClass,
)
from gaia_runner.export import Unexportable
from gaia_runner.export.server_flags import gunicorn_flags, uvicorn_flags
from gaia_runner.process.launch import GUNICORN_WORKER_CLASSES, _uvicorn_options

APP_ROOT = PurePosixPath("/app")
DEFAULT_PORT = 8000
# Seconds a pod keeps serving after it is removed from the endpoints, so that load
# balancers stop sending to it before the server stops accepting.
DRAIN_SECONDS = 5
# Seconds between the end of the server's graceful stop and the orchestrator's SIGKILL: with
# none, a shutdown that used its whole budget (uvicorn's lifespan after the graceful timeout)
# was killed mid-way.
GRACE_MARGIN = 5
IMAGE_USER_ID = 10001
# Replicas for `workers = "auto"`: the exporting machine's CPU count says nothing about the
# cluster's nodes; two keep the app up through one pod's restart.
AUTO_REPLICAS = 2


class ContainerRunner(StrEnum):
    SERVER = "server"  # one server process per container
    GAIA = "gaia"  # gaia up NAME inside each container


@dataclass(frozen=True)
class TlsPaths:
    """Where the certificate files are inside the container."""

    certfile: str
    keyfile: str
    ca_certs: str | None


@dataclass(frozen=True)
class Container:
    """One app as a container: what runs, where, and what the orchestrator must know."""

    name: str
    argv: tuple[str, ...]
    workdir: str
    port: int | None  # None for a command app
    replicas: int
    memory_limit: int | None
    stop_seconds: int
    https: bool
    notes: tuple[str, ...] = field(default=())


def container_path(config: GaiaConfig, path: Path) -> str:
    """``path`` inside the image, where the config's directory is copied to /app."""
    rel = os.path.relpath(path, config.source.parent)
    if rel == ".":
        return str(APP_ROOT)
    if rel.startswith(".."):
        # Outside the project: the image does not contain it, keep the host path visible.
        return str(path)
    return str(APP_ROOT / PurePosixPath(*Path(rel).parts))


def config_in_container(config: GaiaConfig) -> str:
    return str(APP_ROOT / config.source.name)


def is_asgi_on_uvicorn(app: AppConfig) -> bool:
    """ASGI apps gaia would serve through uvicorn (directly or as a gunicorn worker class)."""
    return app.server is ServerKind.UVICORN or app.worker_class is WorkerClass.UVICORN


def container_port(app: AppConfig) -> int | None:
    if app.is_command:
        return None
    tcp = [bind for bind in app.bind if bind.kind is BindKind.TCP]
    return tcp[0].port if tcp else DEFAULT_PORT


def dual_stack(app: AppConfig) -> bool:
    """gaia.toml binds an IPv6 address: the container listens on both stacks, so an app
    reachable over IPv6 (and IPv4) under gaia stays so in a dual-stack or IPv6 cluster. Only
    then: binding `::` fails in a pod whose IPv6 is disabled."""
    return any(bind.kind is BindKind.TCP and ":" in bind.host for bind in app.bind)


def same_port_binds(app: AppConfig) -> list[Bind]:
    """The TCP binds on the first one's port: one container port serves them all (dual-stack
    `127.0.0.1` + `[::1]`, say); a bind on another port is not exported."""
    tcp = [bind for bind in app.bind if bind.kind is BindKind.TCP]
    return [bind for bind in tcp if bind.port == tcp[0].port]


def bind_notes(app: AppConfig) -> list[str]:
    notes = []
    tcp = [bind for bind in app.bind if bind.kind is BindKind.TCP]
    if not tcp and app.bind:
        notes.append(
            f"not mapped: {app.name}: unix socket binds do not cross containers; it listens on TCP "
            f"port {DEFAULT_PORT} instead"
        )
    for bind in tcp:
        if bind.port != tcp[0].port:
            notes.append(
                f"not mapped: {app.name}: only the first bind's port is exported; {bind} is not"
            )
    if tcp and tcp[0].port < 1024:
        notes.append(
            f"not mapped: {app.name}: port {tcp[0].port} is below 1024; the image runs as a "
            "non-root user, so the runtime must allow it (net.ipv4.ip_unprivileged_port_start)"
        )
    return notes


def forwarded_allow_ips(app: AppConfig) -> str | None:
    """Only what the user configured: a unix-only app trusts every local peer, but in a
    container it listens on TCP, where that default would trust the whole network."""
    if app.forwarded_allow_ips is None:
        return None
    return ",".join(app.forwarded_allow_ips)


def uvicorn_argv(app: AppConfig, port: int, tls: TlsPaths | None) -> tuple[str, ...]:
    one = dataclasses.replace(app, workers=1, https=_https_in_container(app, tls), bind=())
    ca = Path(tls.ca_certs) if tls and tls.ca_certs else None
    options = _uvicorn_options(one, ca)
    if app.app is not None and parse_app_target(app.app).has_arguments:
        # uvicorn's CLI calls a factory with no arguments; dropping them would start the app
        # with other settings, or not at all.
        raise Unexportable(
            f"apps.{app.name}: uvicorn has no flag for the factory arguments in {app.app!r}; "
            "export a zero-argument factory (or --runner gaia, which calls it as gaia does)"
        )
    # "": every interface, one socket per stack (asyncio makes an IPv6 socket v6-only).
    host = "" if dual_stack(app) else "0.0.0.0"
    argv = ["uvicorn", str(options.pop("app")), "--host", host, "--port", str(port)]
    options.pop("timeout_worker_healthcheck")  # only used by uvicorn's multiprocess supervisor
    flags, _ = uvicorn_flags(options)
    return (*argv, *flags)


def gunicorn_argv(app: AppConfig, port: int, tls: TlsPaths | None) -> tuple[str, ...]:
    assert app.app is not None
    argv = [
        "gunicorn",
        "--bind",
        # gunicorn leaves IPV6_V6ONLY to the kernel's default (off): `[::]` takes both stacks.
        f"[::]:{port}" if dual_stack(app) else f"0.0.0.0:{port}",
        "--workers",
        "1",
        "--worker-class",
        GUNICORN_WORKER_CLASSES[app.worker_class],
        "--threads",
        str(app.threads),
        "--timeout",
        str(max(1, round(app.timeout))),
        "--graceful-timeout",
        str(max(1, round(app.graceful_timeout))),
        "--max-requests",
        str(app.max_requests),
        "--max-requests-jitter",
        str(app.max_requests_jitter),
        "--error-logfile",
        "-",
        # One master per container needs no control socket, and a read-only home has no room.
        "--no-control-socket",
    ]
    if app.access_log:
        argv += ["--access-logfile", "-"]
    if tls is not None and app.https is not None:
        argv += ["--certfile", tls.certfile, "--keyfile", tls.keyfile]
        argv += ["--cert-reqs", str(["none", "optional", "required"].index(app.https.client_auth))]
        if tls.ca_certs is not None:
            argv += ["--ca-certs", tls.ca_certs]
    allowed = forwarded_allow_ips(app)
    if allowed is not None:
        argv += ["--forwarded-allow-ips", allowed]
    argv += gunicorn_flags(app.gunicorn)[0]
    return (*argv, app.app)


def server_option_notes(app: AppConfig) -> list[str]:
    """Server settings the container's server cannot take as flags, said in the output."""
    if app.is_command:
        return []
    if is_asgi_on_uvicorn(app):
        _, missing = uvicorn_flags(app.uvicorn)
        if app.server is ServerKind.GUNICORN and app.gunicorn:
            missing += [f"gunicorn.{name}" for name in app.gunicorn]
    else:
        _, missing = gunicorn_flags(app.gunicorn)
    return [
        f"not mapped: {app.name}: server setting {name} has no command-line flag"
        for name in missing
    ]


def _https_in_container(app: AppConfig, tls: TlsPaths | None) -> HttpsConfig | None:
    if tls is None or app.https is None:
        return None
    ca = Path(tls.ca_certs) if tls.ca_certs else None
    return dataclasses.replace(
        app.https, certfile=Path(tls.certfile), keyfile=Path(tls.keyfile), ca_certs=ca
    )


def unmapped_notes(app: AppConfig, runner: ContainerRunner) -> list[str]:
    """What the orchestrator has no equivalent for: said in the output, never dropped."""
    if runner is ContainerRunner.GAIA:
        return []
    notes = []
    if not app.is_command:
        notes.append(
            f"not mapped: {app.name}: zero-drop reload on a gaia.toml save; re-export and "
            "apply instead (a rolling update)"
        )
    if app.memory is not None:
        notes.append(
            f"not mapped: {app.name}: recycling one worker over its memory limit without "
            "downtime has no equivalent; a container over its limit is OOM-killed and restarted"
        )
    if not app.is_command and app.metrics and app.slow_request_action == "cancel":
        notes.append(
            f'not mapped: {app.name}: slow_request_action = "cancel" is gaia\'s middleware; '
            "the server alone lets a slow request run on (no 504, no stack in the log)"
        )
    if app.max_start_failures != 5 or app.backoff != Backoff():
        notes.append(
            f"not mapped: {app.name}: backoff and max_start_failures are the orchestrator's own "
            "(CrashLoopBackOff / restart policy)"
        )
    if not app.is_command and app.server is ServerKind.GUNICORN and is_asgi_on_uvicorn(app):
        notes.append(f"note: {app.name} is served by uvicorn directly, one worker per container")
    if app.workers_auto:
        notes.append(
            f'note: {app.name}: workers = "auto" becomes {AUTO_REPLICAS} replicas, not this '
            "machine's CPU count; size it for the cluster (or an autoscaler)"
        )
    elif app.workers_range is not None:
        low, high = app.workers_range.min, app.workers_range.max
        notes.append(
            f"note: {app.name}: workers = {{ min = {low}, max = {high} }} becomes a "
            f"HorizontalPodAutoscaler on CPU ({low} to {high} replicas) in Kubernetes and "
            f"{low} replicas (min) in Compose, which has no autoscaler; CPU is not gaia's own "
            "signal (the accept queue), so a burst of I/O-bound requests may not scale"
        )
    elif app.workers > 1:
        notes.append(f"note: {app.name}: workers = {app.workers} becomes {app.workers} replicas")
    return notes + server_option_notes(app)


def container_for(
    config: GaiaConfig, app: AppConfig, runner: ContainerRunner, tls: TlsPaths | None
) -> Container:
    port = container_port(app)
    stop = math.ceil(max(config.gaia.stop_timeout, app.graceful_timeout))
    notes = [*bind_notes(app), *unmapped_notes(app, runner)]
    workdir = container_path(config, app.cwd)
    if runner is ContainerRunner.GAIA:
        argv: tuple[str, ...] = ("gaia", "up", app.name, "-c", config_in_container(config))
        argv += ("--no-tui", "--no-watch")
        memory = _tree_memory(app)
        if port is not None and any(
            b.kind is BindKind.TCP and b.host in {"127.0.0.1", "::1", "localhost"} for b in app.bind
        ):
            notes.append(
                f"not mapped: {app.name}: bind a non-loopback address (0.0.0.0) for --runner gaia"
            )
        if app.env_file is not None or config.gaia.env_file is not None or app.is_https:
            notes.append(
                f"not mapped: {app.name}: gaia reads env_file and TLS files at their paths "
                "under /app; mount the Secrets there"
            )
        return Container(
            app.name, argv, str(APP_ROOT), port, 1, memory, stop + 1, app.is_https, tuple(notes)
        )
    if app.command is not None:
        argv = app.command
    elif is_asgi_on_uvicorn(app):
        assert port is not None
        argv = uvicorn_argv(app, port, tls)
    else:
        assert port is not None
        argv = gunicorn_argv(app, port, tls)
    return Container(
        app.name,
        argv,
        workdir,
        port,
        AUTO_REPLICAS if app.workers_auto else app.workers,
        _one_worker_memory(app),
        stop,
        app.is_https,
        tuple(notes),
    )


def _one_worker_memory(app: AppConfig) -> int | None:
    if app.memory is None:
        return None
    if app.memory.worker is not None:
        return app.memory.worker
    if app.memory.total is not None:
        return app.memory.total // (AUTO_REPLICAS if app.workers_auto else app.workers)
    return None


def _tree_memory(app: AppConfig) -> int | None:
    if app.memory is None:
        return None
    if app.memory.total is not None:
        return app.memory.total
    if app.memory.worker is not None:
        return app.memory.worker * app.workers
    return None


def quantity(size: int) -> str:
    """Bytes as a quantity both Kubernetes and Compose read ("512Mi", else plain bytes)."""
    for unit, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def compose_size(size: int) -> str:
    """Bytes as Compose reads them: its units ("256m") are binary."""
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}b"


def env_table(table_env: Mapping[str, Mapping[str, str]], name: str) -> dict[str, str]:
    return dict(sorted(table_env.get(name, {}).items()))


def env_files(config: GaiaConfig, app: AppConfig) -> list[Path]:
    """The env files an app reads, in merge order ([gaia].env_file first)."""
    return [p for p in (config.gaia.env_file, app.env_file) if p is not None]


def seconds(value: float) -> int:
    """Whole seconds, at least 1: what probe and grace fields accept."""
    return max(1, math.ceil(value))


def unordered_note(app: AppConfig) -> list[str]:
    """Kubernetes has no start order between Deployments: depends_on is said, not mapped."""
    if not app.depends_on:
        return []
    deps = ", ".join(f"{dep} ({condition})" for dep, condition in app.depends_on.items())
    return [
        f"not mapped: {app.name}: depends_on {deps}; Kubernetes does not order Deployments: "
        "apply those first and wait for them, or let the app retry (its prestart is exported "
        "as usual)"
    ]
