"""Turn validated raw tables into the resolved models of model.py.

Only keys the user wrote are passed on, so defaults stay declared once, in
model.py. Paths become absolute against the config file's directory here, and
arrays become tuples, so the resolved config is immutable all the way down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gaia_runner.config.binds import DEFAULT_BIND, parse_bind
from gaia_runner.config.files import DEFAULT_STATE_DIR, EnvFiles, resolve_path
from gaia_runner.config.model import (
    AppConfig,
    Backoff,
    ClientAuth,
    GaiaConfig,
    HealthCheck,
    HttpsConfig,
    LogRotation,
    MemoryLimits,
    RestartPolicy,
    RunnerSettings,
    ServerKind,
    WorkerClass,
    WorkersRange,
)

Table = Mapping[str, Any]


def build_config(
    raw: Table,
    source: Path,
    env_files: EnvFiles | None,
    cpus: Callable[[], int],
) -> GaiaConfig:
    """``raw`` is the file as raw.FILE validated it; ``env_files`` is None when files
    were not checked: env files are then skipped."""
    base = source.parent
    runner = _build_runner(raw.get("gaia", {}), base)
    shared_env = _env_from(runner.env_file, env_files)
    apps = {
        name: _build_app(name, app, base, shared_env, env_files, cpus, runner.user)
        for name, app in raw.get("apps", {}).items()
    }
    return GaiaConfig(source=source, gaia=runner, apps=apps)


def _build_runner(gaia: Table, base: Path) -> RunnerSettings:
    settings = dict(gaia)
    settings["state_dir"] = resolve_path(gaia.get("state_dir", DEFAULT_STATE_DIR), base)
    if "env_file" in gaia:
        settings["env_file"] = resolve_path(gaia["env_file"], base)
    if "metrics" in gaia:
        settings["metrics"] = parse_bind(gaia["metrics"], base)
    if "logs" in gaia:
        settings["logs"] = LogRotation(**gaia["logs"])
    return RunnerSettings(**settings)


def _env_from(path: Path | None, env_files: EnvFiles | None) -> Mapping[str, str]:
    if path is None or env_files is None:
        return {}
    return env_files.get(path, {})


_ENUMS: Mapping[str, Callable[[str], object]] = {
    "server": ServerKind,
    "worker_class": WorkerClass,
    "restart": RestartPolicy,
}
_TABLES: Mapping[str, Callable[..., object]] = {
    "backoff": Backoff,
    "memory": MemoryLimits,
    "health": HealthCheck,
}


def _build_app(
    name: str,
    raw: Table,
    base: Path,
    shared_env: Mapping[str, str],
    env_files: EnvFiles | None,
    cpus: Callable[[], int],
    default_user: str | None,
) -> AppConfig:
    fields: dict[str, Any] = dict(raw)
    fields["name"] = name
    for key, kind in _ENUMS.items():
        if key in raw:
            fields[key] = kind(raw[key])
    for key, table in _TABLES.items():
        if key in raw:
            fields[key] = table(**raw[key])
    if "socket_mode" in raw:
        fields["socket_mode"] = int(raw["socket_mode"], 8)
    if raw.get("user") is None and default_user is not None:
        fields["user"] = default_user
    if raw.get("workers") == "auto":
        fields["workers"] = cpus()
        fields["workers_auto"] = True
    elif isinstance(raw.get("workers"), dict):
        fields["workers_range"] = _build_range(raw["workers"], cpus)
        fields["workers"] = fields["workers_range"].min
    fields["cwd"] = resolve_path(raw.get("cwd", "."), base)
    env_file = resolve_path(raw["env_file"], base) if "env_file" in raw else None
    fields["env_file"] = env_file
    fields["env"] = {**shared_env, **_env_from(env_file, env_files), **raw.get("env", {})}
    if "command" in raw:
        fields["command"] = tuple(raw["command"])
        fields.pop("bind", None)
    else:
        fields["bind"] = tuple(parse_bind(b, base) for b in raw.get("bind", [DEFAULT_BIND]))
    if "prestart" in raw:
        fields["prestart"] = tuple(tuple(step) for step in raw["prestart"])
    if "forwarded_allow_ips" in raw:
        fields["forwarded_allow_ips"] = tuple(raw["forwarded_allow_ips"])
    if "https" in raw:
        fields["https"] = _build_https(raw["https"], base)
    return AppConfig(**fields)


def _build_range(workers: Table, cpus: Callable[[], int]) -> WorkersRange:
    fields = dict(workers)
    if workers["max"] == "auto":
        # At least `min`: on a machine with fewer CPUs the range is just `min`.
        fields["max"], fields["max_auto"] = max(cpus(), workers["min"]), True
    return WorkersRange(**fields)


def _build_https(https: Table, base: Path) -> HttpsConfig:
    ca_certs = https.get("ca_certs")
    return HttpsConfig(
        certfile=resolve_path(https["certfile"], base),
        keyfile=resolve_path(https["keyfile"], base),
        ca_certs=resolve_path(ca_certs, base) if ca_certs is not None else None,
        client_auth=ClientAuth(https.get("client_auth", "none")),
    )
