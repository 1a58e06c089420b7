"""Start the same app under gaia, bare gunicorn/uvicorn, supervisord or circusd.

`serve(kind, workdir, ...)` is a context manager: it copies the bench apps into workdir,
writes the manager's config, starts it in its own session, (optionally) waits for the first
HTTP 200, and always stops the whole tree on exit.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import tomli_w

from bench import probe, procs
from bench.core import NotAvailable
from bench.peers import peers_bin

log = logging.getLogger("bench")
APPS_DIR = Path(__file__).resolve().parent / "apps"

GAIA_GUNICORN = "gaia (gunicorn)"
GAIA_UVICORN = "gaia (uvicorn)"
GUNICORN = "gunicorn"
UVICORN = "uvicorn"
SUPERVISORD = "supervisord"
CIRCUSD = "circusd"

START_TIMEOUT = 30.0
"""How long serve() waits for the first 200; --quick lowers it so a broken start fails fast."""


@dataclass
class AppSpec:
    app: str = "hello:app"
    workers: int = 2
    env: dict[str, str] = field(default_factory=lambda: {"APP_VERSION": "v1"})
    memory_limit_mib: int | None = None  # gaia/circus: per worker; memmon: whole tree (-c)


@dataclass
class Server:
    kind: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    config: Path
    manager_pid: int
    started: float  # monotonic time just before the manager was spawned

    def master_pid(self) -> int | None:
        """The gunicorn/uvicorn master: the manager itself when bare, else its child."""
        if self.kind in (GUNICORN, UVICORN):
            return self.manager_pid
        try:
            children = psutil.Process(self.manager_pid).children()
        except psutil.Error:
            return None
        for child in children:
            with contextlib.suppress(psutil.Error):
                cmd = " ".join(child.cmdline())
                if ("gunicorn" in cmd or "uvicorn" in cmd) and child.is_running():
                    return child.pid
        return None

    def workers(self) -> list[psutil.Process]:
        master = self.master_pid()
        return procs.workers_of(master) if master else []

    def ctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        tool = {SUPERVISORD: "supervisorctl", CIRCUSD: "circusctl"}[self.kind]
        if self.kind == SUPERVISORD:
            argv = [str(peers_bin() / tool), "-c", str(self.config), *args]
        else:
            argv = [str(peers_bin() / tool), "--endpoint", _circus_endpoint(self.workdir), *args]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=procs.base_env()
        )


def copy_apps(workdir: Path) -> None:
    for source in APPS_DIR.glob("*.py"):
        if source.name != "__init__.py":
            shutil.copy(source, workdir / source.name)


# -- commands ---------------------------------------------------------------------------


def gunicorn_argv(spec: AppSpec, port: int, conf: Path | None = None) -> list[str]:
    argv = [str(procs.VENV_BIN / "gunicorn")]
    if conf is not None:
        argv += ["-c", str(conf)]
    return [
        *argv,
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        str(spec.workers),
        "-b",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        spec.app,
    ]


def uvicorn_argv(spec: AppSpec, port: int) -> list[str]:
    return [
        str(procs.VENV_BIN / "uvicorn"),
        spec.app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(spec.workers),
        "--timeout-graceful-shutdown",
        "5",
        "--no-access-log",  # as gaia (access_log = false by default) and gunicorn's default
    ]


def gaia_app(spec: AppSpec, port: int, server: str, workdir: Path) -> dict[str, Any]:
    table: dict[str, Any] = {
        "app": spec.app,
        "server": server,
        "workers": spec.workers,
        "bind": f"127.0.0.1:{port}",
        "cwd": str(workdir),
    }
    if spec.env:
        table["env"] = dict(spec.env)
    if spec.memory_limit_mib:
        table["memory"] = {"worker": f"{spec.memory_limit_mib}MiB"}
    return table


def gaia_toml(workdir: Path, apps: Mapping[str, Mapping[str, Any]]) -> str:
    return tomli_w.dumps(
        {"gaia": {"state_dir": str(workdir / ".gaia"), "stop_timeout": "10s"}, "apps": apps}
    )


def gaia_argv(config: Path, *extra: str, tui: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "gaia_runner", "up", "-c", str(config), *extra]
    if not tui:
        return [*argv, "--no-tui"]
    # `script` gives gaia a pseudo-terminal, so it draws its live table as on a real one.
    return ["script", "-qfec", shlex.join(argv), "/dev/null"]


def _circus_endpoint(workdir: Path) -> str:
    return f"ipc://{workdir}/circus.sock"


def supervisord_conf(workdir: Path, argv: list[str], spec: AppSpec, memmon: str = "") -> str:
    env = ",".join(f'{k}="{v}"' for k, v in spec.env.items())
    text = f"""\
[unix_http_server]
file={workdir}/supervisor.sock

[supervisord]
nodaemon=true
logfile={workdir}/supervisord.log
pidfile={workdir}/supervisord.pid
childlogdir={workdir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{workdir}/supervisor.sock

[program:app]
command={shlex.join(argv)}
directory={workdir}
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
stopwaitsecs=10
redirect_stderr=true
"""
    if env:
        text += f"environment={env}\n"
    if memmon:
        # memmon checks on supervisor's TICK events; TICK_5 is the shortest there is.
        text += f"""
[eventlistener:memmon]
command={peers_bin() / "memmon"} -c -p app={memmon}
events=TICK_5
"""
    return text


def circus_ini(workdir: Path, argv: list[str], spec: AppSpec, max_mem: str = "") -> str:
    text = f"""\
[circus]
endpoint = {_circus_endpoint(workdir)}
pubsub_endpoint = ipc://{workdir}/circus-pub.sock
check_delay = 5

[watcher:app]
cmd = {shlex.join(argv)}
working_dir = {workdir}
numprocesses = 1
copy_env = True
stop_children = True
graceful_timeout = 10

[env:app]
"""
    text += "".join(f"{k} = {v}\n" for k, v in spec.env.items())
    if max_mem:
        # The resource watcher checks each worker (process_children) every loop_rate seconds
        # and restarts the whole watcher after max_count breaches in a row.
        text += f"""
[plugin:resources]
use = circus.plugins.resource_watcher.ResourceWatcher
watcher = app
loop_rate = 1
max_mem = {max_mem}
max_count = 3
process_children = 1
"""
    return text


# -- the context manager -----------------------------------------------------------------


def _launch(
    kind: str, workdir: Path, port: int, spec: AppSpec, tui: bool, extra: tuple[str, ...]
) -> tuple[list[str], Path, dict[str, str]]:
    env: dict[str, str] = {}
    if kind in (GAIA_GUNICORN, GAIA_UVICORN):
        server = "gunicorn" if kind == GAIA_GUNICORN else "uvicorn"
        config = workdir / "gaia.toml"
        config.write_text(gaia_toml(workdir, {"web": gaia_app(spec, port, server, workdir)}))
        if tui:
            env["TERM"] = "xterm-256color"
        return gaia_argv(config, *extra, tui=tui), config, env
    if kind == GUNICORN:
        config = workdir / "gunicorn.conf.py"
        config.write_text(f"raw_env = {[f'{k}={v}' for k, v in spec.env.items()]!r}\n")
        return gunicorn_argv(spec, port, config), config, env
    if kind == UVICORN:
        return uvicorn_argv(spec, port), workdir, dict(spec.env)
    app_argv = gunicorn_argv(spec, port)
    if kind == SUPERVISORD:
        config = workdir / "supervisord.conf"
        memmon = f"{spec.memory_limit_mib}MB" if spec.memory_limit_mib else ""
        config.write_text(supervisord_conf(workdir, app_argv, spec, memmon))
        return [str(peers_bin() / "supervisord"), "-c", str(config)], config, env
    if kind == CIRCUSD:
        config = workdir / "circus.ini"
        max_mem = f"{spec.memory_limit_mib}M" if spec.memory_limit_mib else ""
        config.write_text(circus_ini(workdir, app_argv, spec, max_mem))
        return [str(peers_bin() / "circusd"), str(config)], config, env
    raise ValueError(f"unknown target {kind!r}")


def _never_served(kind: str, output: Path) -> str:
    """One line for the table: the last thing gaia said about its app, else the last line."""
    lines = output.read_text(errors="replace").splitlines()
    log.debug("%s output tail:\n%s", kind, "\n".join(lines[-40:]))
    said = [ln for ln in lines if ln.startswith("gaia | ")] or lines or ["(no output)"]
    return f"{kind} never served within {START_TIMEOUT:g}s; last: {said[-1].strip()[:200]}"


def _find_gaia(script_pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in procs.descendants(script_pid):
            with contextlib.suppress(psutil.Error):
                if "gaia_runner" in child.cmdline():
                    return child.pid
        time.sleep(0.02)
    raise RuntimeError("gaia did not start under script(1)")


@contextlib.contextmanager
def serve(
    kind: str,
    workdir: Path,
    spec: AppSpec | None = None,
    *,
    port: int | None = None,
    wait: bool = True,
    tui: bool = False,
    extra: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Run `spec` under `kind`; yields once it serves (if `wait`); always stops it after."""
    spec = spec or AppSpec()
    port = port or procs.free_port()
    copy_apps(workdir)
    if tui and shutil.which("script") is None:
        raise NotAvailable("script(1) not found (util-linux) to give gaia a terminal")
    argv, config, env = _launch(kind, workdir, port, spec, tui, extra)
    started = time.monotonic()
    proc = procs.spawn(argv, workdir, workdir / "output.log", env)
    try:
        manager = _find_gaia(proc.pid) if tui else proc.pid
        server = Server(kind, proc, port, workdir, config, manager, started)
        if wait:
            try:
                probe.wait_http(port, START_TIMEOUT)
            except TimeoutError:
                raise RuntimeError(_never_served(kind, workdir / "output.log")) from None
        yield server
    finally:
        if tui:
            procs.stop_pid(manager_pid_or(proc))
        procs.stop(proc)


def manager_pid_or(proc: subprocess.Popen[bytes]) -> int:
    with contextlib.suppress(RuntimeError):
        return _find_gaia(proc.pid, timeout=0.1)
    return proc.pid
