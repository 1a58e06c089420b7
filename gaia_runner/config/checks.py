"""Rules that span several keys, checked on the parsed TOML itself.

These run on plain dicts rather than on validated models so that they still
report when an unrelated key in the same table has a type error: the user
should see every problem in one go. Anything whose type is wrong here is
skipped silently, because the type check has already reported it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from gaia_runner.config.apptarget import parse_app_target
from gaia_runner.config.binds import DEFAULT_BIND, binds_clash, parse_bind
from gaia_runner.config.depends import check_depends
from gaia_runner.config.locate import KeyPath
from gaia_runner.config.model import AppConfig, Bind, GaiaConfig
from gaia_runner.config.reporter import Reporter
from gaia_runner.config.settings import WEB_ONLY_KEYS
from gaia_runner.config.units import parse_duration, parse_size
from gaia_runner.model.units import format_size

_APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# gaia's own event log is logs/gaia.log and its lines are prefixed "gaia": an app of that
# name would write into (and rotate) gaia's log and pass for gaia on screen.
RESERVED_APP_NAME = "gaia"
# A Kubernetes object name (DNS label) holds 63; gaia's own files add at most ~30 to a
# name, well within a file name's 255 bytes.
MAX_APP_NAME = 63


def check_rules(data: Mapping[str, object], base: Path, report: Reporter) -> None:
    apps = data.get("apps")
    if apps is None or apps == {}:
        report.error(("apps",), "no apps defined: add an [apps.NAME] table")
        return
    if not isinstance(apps, dict):
        return
    gaia = data.get("gaia")
    default_user = gaia.get("user") if isinstance(gaia, dict) else None
    for name, app in apps.items():
        if isinstance(app, dict):
            _check_user_fits(("apps", name), app, default_user, report)
        if not _APP_NAME.fullmatch(name):
            report.error(
                ("apps", name),
                f"invalid app name {name!r}: use letters, digits, '-' and '_', "
                "starting with a letter or digit (it is used in file names)",
            )
        elif name == RESERVED_APP_NAME:
            report.error(
                ("apps", name),
                f"app name {name!r} is reserved for gaia's own event log (logs/gaia.log) "
                f"and lines; rename the app, e.g. [apps.{name}-app]",
            )
        elif len(name) > MAX_APP_NAME:
            report.error(
                ("apps", name),
                f"app name of {len(name)} characters: at most {MAX_APP_NAME} "
                "(it names files, sockets and exported Kubernetes objects)",
            )
        if isinstance(app, dict):
            _check_app(name, app, report)
    _check_binds(apps, base, report)
    check_depends(apps, report)


def _check_app(name: str, app: Mapping[str, object], report: Reporter) -> None:
    here: KeyPath = ("apps", name)
    if "app" in app and "command" in app:
        report.error(
            (*here, "command"),
            "set either `app` (a web app to serve) or `command` (a process to run), not both",
        )
    elif "app" not in app and "command" not in app:
        report.error(
            here,
            'missing `app` (an import string like "pkg.module:app") '
            "or `command` (a process to run)",
        )
    if "command" in app and "app" not in app:
        if isinstance(app.get("workers"), dict):
            report.error(
                (*here, "workers"),
                "adaptive workers ({ min, max }) are for `app` apps: gaia reads a web "
                "app's accept queue; a `command` takes a fixed number of copies",
            )
        for key in WEB_ONLY_KEYS:
            if key in app:
                report.error(
                    (*here, key),
                    f"`{key}` is only for `app` apps; this app runs a `command`",
                )
        return
    server = app.get("server", "gunicorn")
    if server == "uvicorn" and "worker_class" in app:
        report.error(
            (*here, "worker_class"),
            'worker_class applies to server = "gunicorn" only; uvicorn runs its own workers',
        )
    threads = app.get("threads")
    if isinstance(threads, int) and not isinstance(threads, bool) and threads > 1:
        worker_class = app.get("worker_class", "uvicorn")
        if server == "uvicorn":
            report.error(
                (*here, "threads"), 'threads applies to server = "gunicorn" with gthread workers'
            )
        elif worker_class != "gthread":
            report.error(
                (*here, "threads"),
                f'threads > 1 needs worker_class = "gthread", not {worker_class!r}',
            )
    _check_range(here, app.get("workers"), report)
    _check_https(here, app.get("https"), report)
    _check_memory(here, app.get("memory"), report)
    _check_server_tables(here, server, app, report)
    _check_slow(here, server, app, report)
    if server == "gunicorn":
        _check_gunicorn_target(here, app, report)


def _check_user_fits(
    here: KeyPath, app: Mapping[str, object], default_user: object, report: Reporter
) -> None:
    user = app.get("user", default_user)
    https = app.get("https")
    if user is not None and isinstance(https, dict) and https.get("client_auth") == "required":
        # The server would have to read gaia's probe CA from the private state dir.
        report.error(
            (*here, "https", "client_auth"),
            'client_auth = "required" cannot be combined with `user` yet: the app could not '
            "read the CA bundle gaia writes for its own health probes",
        )


def _check_gunicorn_target(here: KeyPath, app: Mapping[str, object], report: Reporter) -> None:
    text = app.get("app")
    if not isinstance(text, str):
        return
    try:
        target = parse_app_target(text)
    except ValueError:
        return
    if target.call and "." in target.attribute:
        report.error(
            (*here, "app"),
            f"gunicorn calls only a factory named directly in the module, not {text!r}: "
            'import it into the module, or set server = "uvicorn"',
        )


def _check_server_tables(
    here: KeyPath, server: object, app: Mapping[str, object], report: Reporter
) -> None:
    if server not in ("gunicorn", "uvicorn"):
        return
    # Imported only for a config that has such a table: it loads the server's settings.
    from gaia_runner.config.server_options import check_gunicorn_option, check_uvicorn_option

    checkers = {"gunicorn": check_gunicorn_option, "uvicorn": check_uvicorn_option}
    for table, check in checkers.items():
        options = app.get(table)
        if not isinstance(options, dict):
            continue
        if table != server:
            name = here[-1]
            report.error(
                (*here, table),
                f'this app runs on server = "{server}", so [apps.{name}.{table}] would be '
                f'ignored: move the settings to [apps.{name}.{server}] or set server = "{table}"',
            )
            continue
        for key, value in options.items():
            problem = check(key, value)
            if problem is not None:
                report.error((*here, table, key), problem)


def _check_https(here: KeyPath, https: object, report: Reporter) -> None:
    if not isinstance(https, dict):
        return
    client_auth = https.get("client_auth", "none")
    if client_auth in ("optional", "required") and "ca_certs" not in https:
        report.error(
            (*here, "https", "client_auth"),
            f'client_auth = "{client_auth}" needs ca_certs to verify client certificates',
        )


def _check_memory(here: KeyPath, memory: object, report: Reporter) -> None:
    if not isinstance(memory, dict):
        return
    try:
        worker, total = parse_size(memory["worker"]), parse_size(memory["total"])
    except (KeyError, ValueError):
        return
    if worker > total:
        report.error(
            (*here, "memory", "worker"),
            f"memory.worker ({format_size(worker)}) is larger than "
            f"memory.total ({format_size(total)})",
        )


def _check_slow(here: KeyPath, server: object, app: Mapping[str, object], report: Reporter) -> None:
    """The slow-request watchdog runs in gaia's request middleware (metrics), and only an
    asyncio worker can cancel one request or have an event loop to block."""
    keys = [k for k in ("slow_request", "slow_request_action", "blocked_loop") if k in app]
    if app.get("metrics") is False:
        for key in keys:
            report.error(
                (*here, key),
                f"`{key}` runs in gaia's request middleware, which metrics = false turns off",
            )
        return
    worker_class = app.get("worker_class", "uvicorn")
    if server != "gunicorn" or worker_class not in ("sync", "gthread"):
        return
    if app.get("slow_request_action") == "cancel":
        report.error(
            (*here, "slow_request_action"),
            f"a {worker_class} worker cannot cancel one request (Python cannot interrupt its "
            'thread); use "log", and `timeout` for a sync worker, which gunicorn kills then',
        )
    if "blocked_loop" in app:
        report.error(
            (*here, "blocked_loop"),
            f"a {worker_class} worker has no event loop to block; blocked_loop applies to "
            'asyncio workers (server = "uvicorn", worker_class "uvicorn" or "asgi")',
        )
    slow, timeout = app.get("slow_request"), app.get("timeout", AppConfig.timeout)
    try:
        slow_s, timeout_s = parse_duration(slow), parse_duration(timeout)
    except ValueError:
        return
    if worker_class == "sync" and slow_s >= timeout_s > 0:
        report.warning(
            (*here, "slow_request"),
            f"gunicorn kills a sync worker busy for `timeout` ({timeout_s:g}s), before its "
            f"request is slow_request ({slow_s:g}s): no stack would be logged",
        )


def _declared_binds(app: Mapping[str, object]) -> list[tuple[KeyPath, str, bool]]:
    """(path relative to the app, address, is-the-default) for each bind of a web app."""
    if "command" in app:
        return []
    raw = app.get("bind")
    if raw is None:
        return [((), DEFAULT_BIND, True)]
    if isinstance(raw, str):
        return [(("bind",), raw, False)]
    if isinstance(raw, list):
        return [(("bind", i), v, False) for i, v in enumerate(raw) if isinstance(v, str)]
    return []


def _check_binds(apps: Mapping[str, object], base: Path, report: Reporter) -> None:
    taken: list[tuple[str, Bind]] = []
    for name, app in apps.items():
        if not isinstance(app, dict):
            continue
        for rel, text, is_default in _declared_binds(app):
            try:
                bind = parse_bind(text, base)
            except ValueError:
                continue
            owner = next((who for who, other in taken if binds_clash(bind, other)), None)
            if owner is not None:
                whose = "this app" if owner == name else f"app {owner!r}"
                what = f"the default bind {bind}" if is_default else str(bind)
                hint = "; set `bind` to another address" if is_default else ""
                report.error(("apps", name, *rel), f"{what} is already used by {whose}{hint}")
            taken.append((name, bind))


def _check_range(here: KeyPath, workers: object, report: Reporter) -> None:
    if not isinstance(workers, dict):
        return
    low, high = workers.get("min"), workers.get("max")
    if isinstance(low, int) and isinstance(high, int) and not isinstance(high, bool) and low > high:
        report.error((*here, "workers", "max"), f"max = {high} is below min = {low}")


def warn_memory(config: GaiaConfig, machine_memory: int, report: Reporter) -> None:
    """Warn when the per-worker limits could never all be reached on this machine."""
    for name, app in config.apps.items():
        if app.memory is None or app.memory.worker is None:
            continue
        needed = app.memory.worker * app.workers
        if needed > machine_memory:
            report.warning(
                ("apps", name, "memory", "worker"),
                f"workers x memory.worker = {format_size(needed)} exceeds "
                f"this machine's {format_size(machine_memory)}",
            )
