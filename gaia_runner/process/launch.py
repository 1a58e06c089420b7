"""What exactly gets executed for an app: argv, environment, cwd and inherited fds.

Gunicorn is driven by a generated config file (re-executed by gunicorn on every
load), uvicorn by a generated JSON file read by gaia's own small launcher; both
files live under state_dir/run so a user can read what gaia asked for.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pwd
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.apptarget import parse_app_target
from gaia_runner.config.model import AppConfig, BindKind, ClientAuth, ServerKind, WorkerClass
from gaia_runner.metrics.request_start import GUNICORN_DEFAULT, TRUST_ENV, UVICORN_DEFAULT
from gaia_runner.metrics.watchdog import ACTION_ENV, BLOCKED_ENV, SLOW_ENV
from gaia_runner.metrics.wire import CHANNEL_ENV as METRICS_FD_ENV
from gaia_runner.process.child import SpawnError
from gaia_runner.process.probe_tls import needs_probe_identity, write_trust_bundle
from gaia_runner.process.user_env import switched_user_base
from gaia_runner.service.sd_notify import SYSTEMD_ENV
from gaia_runner.statedir import ensure_private_dir, write_private_file

GUNICORN_WORKER_CLASSES: Mapping[WorkerClass, str] = {
    WorkerClass.UVICORN: "uvicorn_worker.UvicornWorker",
    WorkerClass.ASGI: "asgi",
    WorkerClass.SYNC: "sync",
    WorkerClass.GTHREAD: "gthread",
}

_CERT_REQS = {ClientAuth.NONE: 0, ClientAuth.OPTIONAL: 1, ClientAuth.REQUIRED: 2}

# Unix socket paths are limited to 108 bytes; deep state dirs must not break the control socket.
_MAX_UNIX_PATH = 100


@dataclass(frozen=True)
class LaunchSpec:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    pass_fds: tuple[int, ...]
    control_socket: Path | None = None
    config_file: Path | None = None
    trust_bundle: Path | None = None
    config_fd: int | None = None
    """An open read-only copy of config_file handed to an app that runs as another user,
    who cannot reach gaia's private state dir by path."""

    def close_config_fd(self) -> None:
        """Once spawned, the child holds its own copy of the fd."""
        if self.config_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.config_fd)
            object.__setattr__(self, "config_fd", None)

    def remove_files(self) -> None:
        """A stopped generation's generated files only mislead whoever reads state_dir."""
        for path in (self.control_socket, self.config_file, self.trust_bundle):
            if path is not None:
                path.unlink(missing_ok=True)


def interpreter_bin_dir() -> str:
    # Not resolved: a venv's bin/python is a symlink, and its bin dir is the one we want.
    return str(Path(sys.executable).parent)


def switched_user(app: AppConfig) -> pwd.struct_passwd | None:
    """The account the app runs as, when it is not gaia's own."""
    if app.user is None:
        return None
    try:
        entry = pwd.getpwnam(app.user)
    except KeyError:  # deleted since the config was checked: a start that cannot happen
        raise SpawnError(errno.ENOENT, f"no user named {app.user!r}") from None
    return None if entry.pw_uid == os.geteuid() else entry


def trusted_proxies(app: AppConfig) -> list[str] | None:
    """Who may set X-Forwarded-*: the configured list, or, for an app bound only to unix
    sockets, every peer: only a local process (the proxy) can reach the app at all, and
    uvicorn has no way to name a unix socket peer. None keeps the server's default."""
    if app.forwarded_allow_ips is not None:
        return list(app.forwarded_allow_ips)
    if app.bind and all(bind.kind is BindKind.UNIX for bind in app.bind):
        return ["*"]
    return None


def trusts_last_hop(app: AppConfig) -> bool:
    """Whether gaia's own default trust (see trusted_proxies) runs in a uvicorn worker, which
    must then believe only the last X-Forwarded-For entry (see process/one_hop.py)."""
    uvicorn_worker = app.server is ServerKind.UVICORN or app.worker_class is WorkerClass.UVICORN
    return uvicorn_worker and app.forwarded_allow_ips is None and trusted_proxies(app) == ["*"]


def child_environment(app: AppConfig, base: Mapping[str, str]) -> dict[str, str]:
    account = switched_user(app)
    base = {k: v for k, v in base.items() if k not in SYSTEMD_ENV}  # systemd speaks to gaia only
    # Another user gets a minimal base, not gaia's secrets; the app's `env` still wins.
    env = dict(base) if account is None else switched_user_base(base, account)
    env.update(app.env)
    bin_dir = interpreter_bin_dir()
    path = env.get("PATH", os.defpath)
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, path])
    env["PYTHONUNBUFFERED"] = "1"
    env["GAIA_APP"] = app.name
    if METRICS_FD_ENV in base:  # gaia's channel, whatever the app's env says (see below)
        env[METRICS_FD_ENV] = base[METRICS_FD_ENV]
    if not app.is_measured:
        env.pop(METRICS_FD_ENV, None)  # measurement off: the app is not wrapped at all
    else:
        env.update(watchdog_env(app))
        env[TRUST_ENV] = ",".join(request_start_trust(app))
    return env


def request_start_trust(app: AppConfig) -> list[str]:
    """Who may stamp X-Request-Start: whom the server believes for X-Forwarded-*, its own
    default when gaia sets none (metrics/request_start.py)."""
    proxies = trusted_proxies(app)
    if proxies is not None:
        return proxies
    # A gunicorn UvicornWorker is given gunicorn's setting, and so gunicorn's default.
    return list(UVICORN_DEFAULT if app.server is ServerKind.UVICORN else GUNICORN_DEFAULT)


def watchdog_env(app: AppConfig) -> dict[str, str]:
    """What the middleware's slow-request watchdog reads in each worker (watchdog.py)."""
    asyncio_worker = app.server is ServerKind.UVICORN or app.worker_class in (
        WorkerClass.UVICORN,
        WorkerClass.ASGI,
    )
    return {
        SLOW_ENV: repr(app.slow_request),
        ACTION_ENV: app.slow_request_action,
        BLOCKED_ENV: repr(app.blocked_loop if asyncio_worker else 0.0),
    }


def _measured(env: Mapping[str, str]) -> bool:
    """gaia passes the metrics channel only to apps it measures (see child_environment)."""
    return METRICS_FD_ENV in env


def metrics_fds(env: Mapping[str, str]) -> tuple[int, ...]:
    """The app's metrics channel, inherited by its server (and so by every worker)."""
    return (int(env[METRICS_FD_ENV]),) if METRICS_FD_ENV in env else ()


def short_socket_path(path: Path) -> Path:
    if len(str(path)) <= _MAX_UNIX_PATH:
        return path
    import tempfile  # only for a long path: not before every first spawn (~3 ms)

    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    # Shared /tmp: the directory must be gaia's own, or another user could plant files in it.
    fallback = ensure_private_dir(Path(tempfile.gettempdir()) / f"gaia-{os.getuid()}")
    return fallback / f"{digest}.ctl"


def _gunicorn_config(
    app: AppConfig,
    fds: Sequence[int],
    control_socket: Path | None,
    ca_certs: Path | None,
    debug: bool,
    measured: bool = False,
    imports: Path | None = None,
) -> str:
    settings: dict[str, object] = {
        "bind": [f"fd://{fd}" for fd in fds],
        "workers": app.workers,
        "worker_class": GUNICORN_WORKER_CLASSES[app.worker_class],
        "threads": app.threads,
        "timeout": max(1, round(app.timeout)),
        "graceful_timeout": max(1, round(app.graceful_timeout)),
        "max_requests": app.max_requests,
        "max_requests_jitter": app.max_requests_jitter,
        "proc_name": f"gaia:{app.name}",
        "errorlog": "-",
        "accesslog": "-" if app.access_log else None,
        "loglevel": "info",
    }
    if control_socket is not None:
        settings["control_socket"] = str(control_socket)
    else:
        # An app running as another user cannot create a socket in gaia's private run dir;
        # gaia scales with signals, so the master needs no control socket.
        settings["control_socket_disable"] = True
    proxies = trusted_proxies(app)
    if proxies is not None:
        settings["forwarded_allow_ips"] = ",".join(proxies)  # gunicorn takes one string
    settings.update(app.gunicorn)
    if debug:
        settings["loglevel"] = "debug"
    settings.update(_tls_options(app, ca_certs))
    lines = [f"# Generated by gaia for app {app.name!r}; edit gaia.toml, not this file."]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    lines += _preloaded_hooks(app, measured)
    lines += [
        "",
        "",
        "def post_fork(server, worker):",
        "    # Workers die with their master, so no orphan keeps serving after a crash.",
        "    from gaia_runner.process.pdeathsig import die_with_parent",
        "",
        "    die_with_parent(expected_parent=server.pid)",
    ]
    if app.worker_class is WorkerClass.UVICORN:
        lines += [
            "    from gaia_runner.process import drain",
            "    from gaia_runner.process.plain_listeners import unwrap_listeners",
            "",
            "    drain.install()",
            "    unwrap_listeners(worker)",
        ]
    one_hop = trusts_last_hop(app)
    if measured or imports is not None or one_hop:
        lines += ["", "", "def post_worker_init(worker):"]
    if one_hop:
        lines += [
            "    # Only the proxy's own X-Forwarded-For entry counts (process/one_hop.py).",
            "    from gaia_runner.process.one_hop import wrap_uvicorn_config",
            "",
            "    wrap_uvicorn_config(worker.config)",
        ]
    if imports is not None:
        lines += [
            "    # Dev mode: the app's next standby imports these libraries ahead of a save.",
            "    from gaia_runner.dev.warm import record_imports",
            "",
            f"    record_imports({str(imports)!r})",
        ]
    if measured:
        lines += _metrics_hooks(app)
    lines.append("")
    return "\n".join(lines)


def _preloaded_hooks(app: AppConfig, measured: bool) -> list[str]:
    """The modules gaia's hooks below import in each worker, imported here by the master
    as it reads this file: a worker forked in a burst inherits them and serves ~30 ms
    sooner (the metrics hooks pull in asyncio). They start nothing at import."""
    modules = ["gaia_runner.process.pdeathsig"]
    if app.worker_class is WorkerClass.UVICORN:
        modules += ["gaia_runner.process.drain", "gaia_runner.process.plain_listeners"]
    if trusts_last_hop(app):
        modules.append("gaia_runner.process.one_hop")
    if measured:
        modules.append("gaia_runner.metrics.hooks")
    return ["", *(f"import {module}" for module in modules)]


def _metrics_hooks(app: AppConfig) -> list[str]:
    wsgi = app.worker_class in (WorkerClass.SYNC, WorkerClass.GTHREAD)
    return [
        "    # gaia measures every request: its middleware wraps the app this worker loaded.",
        "    from gaia_runner.metrics.hooks import wrap_gunicorn_worker",
        "",
        f"    wrap_gunicorn_worker(worker, {'wsgi' if wsgi else 'asgi'!r})",
        "",
        "",
        "def worker_exit(server, worker):",
        "    from gaia_runner.metrics.hooks import flush",
        "",
        "    flush()",
    ]


def imports_record(run_dir: Path, app: AppConfig) -> Path:
    """Dev mode: where the app's workers list the libraries its next standby imports."""
    return run_dir / f"{app.name}.imports"


def _uvicorn_options(app: AppConfig, ca_certs: Path | None) -> dict[str, object]:
    assert app.app is not None
    target = parse_app_target(app.app)
    options: dict[str, object] = {
        # A factory with arguments is called by gaia's launcher (see uvicorn_main).
        "app": f"{target.module}:{target.attribute}",
        "factory": target.call,
        "workers": app.workers,
        "timeout_graceful_shutdown": max(1, round(app.graceful_timeout)),
        "timeout_worker_healthcheck": max(1, round(app.timeout)),
        "access_log": app.access_log,
    }
    if app.max_requests:
        options["limit_max_requests"] = app.max_requests
        if app.max_requests_jitter:
            options["limit_max_requests_jitter"] = app.max_requests_jitter
    proxies = trusted_proxies(app)
    if proxies is not None:
        options["forwarded_allow_ips"] = proxies
        options["proxy_headers"] = True
    options.update(_tls_options(app, ca_certs, prefix="ssl_"))
    options.update(app.uvicorn)
    return options


def _tls_options(app: AppConfig, ca_certs: Path | None, prefix: str = "") -> dict[str, object]:
    """The server's TLS settings: gunicorn's names, or uvicorn's (the same with `ssl_`)."""
    if app.https is None:
        return {}
    options: dict[str, object] = {
        "certfile": str(app.https.certfile),
        "keyfile": str(app.https.keyfile),
        "cert_reqs": _CERT_REQS[app.https.client_auth],
    }
    if ca_certs is not None:
        options["ca_certs"] = str(ca_certs)
    return {prefix + key: value for key, value in options.items()}


def build_launch(
    app: AppConfig,
    fds: Sequence[int],
    run_dir: Path,
    generation: int,
    base_env: Mapping[str, str],
    *,
    debug: bool = False,
) -> LaunchSpec:
    """Write the server's config file for this generation and say how to start it."""
    env = child_environment(app, base_env)
    if app.command is not None:
        return LaunchSpec(argv=app.command, env=env, cwd=app.cwd, pass_fds=())
    assert app.app is not None
    ensure_private_dir(run_dir)
    stem = f"{app.name}.g{generation}"
    ca_certs = app.https.ca_certs if app.https is not None else None
    bundle = None
    if needs_probe_identity(app):
        ca_certs = bundle = write_trust_bundle(app, run_dir / f"{stem}.ca.pem")
    # The state dir stays private (0700): an app that runs as another user gets its
    # generated config as an open fd instead of a path it could not reach.
    as_other_user = switched_user(app) is not None
    if app.server is ServerKind.GUNICORN:
        control = None if as_other_user else short_socket_path(run_dir / f"{stem}.ctl")
        conf = run_dir / f"{stem}.gunicorn.py"
        # Written atomically into a directory only gaia's user can write: what gunicorn
        # executes is exactly what gaia wrote.
        imports = imports_record(run_dir, app) if debug and not as_other_user else None
        text = _gunicorn_config(app, fds, control, ca_certs, debug, _measured(env), imports)
        write_private_file(conf, text.encode())
        config_fd = _open_for_child(conf, env) if as_other_user else None
        source = "python:gaia_runner.process.fd_config" if as_other_user else str(conf)
        gunicorn = (sys.executable, "-m", "gunicorn", "-c", source, app.app)
        return LaunchSpec(
            gunicorn,
            env,
            app.cwd,
            (*fds, *metrics_fds(env), *([config_fd] if config_fd is not None else [])),
            control_socket=control,
            config_file=conf,
            trust_bundle=bundle,
            config_fd=config_fd,
        )
    conf = run_dir / f"{stem}.uvicorn.json"
    options = _uvicorn_options(app, ca_certs)
    if debug:
        options["log_level"] = "debug"
    spec: dict[str, object] = {"fds": list(fds), "options": options, "metrics": _measured(env)}
    if debug:
        # Dev mode: workers are forked from the launcher, so what it already imported (all
        # of it, when a standby was released) is not imported again; see uvicorn_main.
        spec["fork_workers"] = True
        if not as_other_user:
            spec["record_imports"] = str(imports_record(run_dir, app))
    if parse_app_target(app.app).has_arguments:
        spec["app_call"] = app.app
    if trusts_last_hop(app):
        spec["last_hop"] = True
    write_private_file(conf, json.dumps(spec, indent=2).encode())
    config_fd = _open_for_child(conf, env) if as_other_user else None
    source = f"fd:{config_fd}" if config_fd is not None else str(conf)
    argv = (sys.executable, "-m", "gaia_runner.process.uvicorn_main", source)
    pass_fds = (*fds, *metrics_fds(env), *([config_fd] if config_fd is not None else []))
    return LaunchSpec(
        argv, env, app.cwd, pass_fds, config_file=conf, trust_bundle=bundle, config_fd=config_fd
    )


def _open_for_child(path: Path, env: dict[str, str]) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    env["GAIA_CONFIG_FD"] = str(fd)
    return fd
