"""`[apps.NAME.gunicorn]` and `[apps.NAME.uvicorn]`: server settings passed through as written.

Names are checked against the installed server (gunicorn's KNOWN_SETTINGS by their
config-file name, the parameters of uvicorn.Config), so a typo is an error with a
suggestion rather than a setting silently ignored. Settings gaia itself decides are
refused with the gaia.toml key to use instead: passing them through would fight gaia
(a second bind, another worker count, a hook gaia relies on).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import types
import typing
from collections.abc import Mapping

from gaia_runner.config.schema import EXPECTED, describe, is_kind

_BIND = "set `bind` instead: gaia binds every socket itself"
_HTTPS = "set the `https` table instead"
_DEV = "use `gaia up --dev` instead"
_LOGS = "gaia collects the server's output into state_dir/logs/NAME.log"

GUNICORN_OWNED: Mapping[str, str] = {
    "bind": _BIND,
    "reuse_port": _BIND,
    "workers": "set `workers` instead",
    "worker_class": "set `worker_class` instead",
    "threads": "set `threads` instead",
    "timeout": "set `timeout` instead",
    "graceful_timeout": "set `graceful_timeout` instead",
    "max_requests": "set `max_requests` instead",
    "max_requests_jitter": "set `max_requests_jitter` instead",
    "accesslog": "set `access_log = true` instead",
    "errorlog": _LOGS,
    "forwarded_allow_ips": "set `forwarded_allow_ips` instead",
    "certfile": _HTTPS,
    "keyfile": _HTTPS,
    "ca_certs": _HTTPS,
    "cert_reqs": _HTTPS,
    "control_socket": "gaia gives every gunicorn master its own control socket",
    "control_socket_disable": "gaia gives every gunicorn master its own control socket",
    "control_socket_mode": "gaia gives every gunicorn master its own control socket",
    "post_fork": "gaia installs its own post_fork hook (workers die with their master)",
    "proc_name": "gaia names each master `gaia:NAME` to find it",
    "daemon": "gaia supervises the master; a daemon would escape it",
    "pidfile": "gaia tracks the master's pid itself",
    "reload": _DEV,
    "reload_engine": _DEV,
    "reload_extra_files": _DEV,
    "user": "set `user` instead",
    "group": "set `user` instead (its primary and supplementary groups are used)",
    "initgroups": "set `user` instead (its supplementary groups are always set)",
    "chdir": "set `cwd` instead",
    "raw_env": "set `env` instead",
    "wsgi_app": "set `app` instead",
    "paste": "set `app` instead",
    "config": "gaia passes its own generated config",
    "check_config": "use `gaia check` instead",
    "print_config": "use `gaia config` instead",
}

UVICORN_OWNED: Mapping[str, str] = {
    "app": "set `app` instead",
    "factory": 'set `app = "module:factory()"` instead',
    "host": _BIND,
    "port": _BIND,
    "uds": _BIND,
    "fd": _BIND,
    "workers": "set `workers` instead",
    "reload": _DEV,
    "reload_dirs": _DEV,
    "reload_delay": _DEV,
    "reload_includes": _DEV,
    "reload_excludes": _DEV,
    "ssl_keyfile": _HTTPS,
    "ssl_certfile": _HTTPS,
    "ssl_keyfile_password": _HTTPS,
    "ssl_cert_reqs": _HTTPS,
    "ssl_ca_certs": _HTTPS,
    "timeout_graceful_shutdown": "set `graceful_timeout` instead",
    "timeout_worker_healthcheck": "set `timeout` instead",
    "access_log": "set `access_log` instead",
    "limit_max_requests": "set `max_requests` instead",
    "limit_max_requests_jitter": "set `max_requests_jitter` instead",
    "forwarded_allow_ips": "set `forwarded_allow_ips` instead",
    "proxy_headers": "set `forwarded_allow_ips` instead (proxy headers are on when it is set)",
    "env_file": "set `env_file` instead",
    "callback_notify": "internal to uvicorn's gunicorn worker",
    "timeout_notify": "internal to uvicorn's gunicorn worker",
}


@functools.cache
def gunicorn_settings() -> tuple[str, ...]:
    from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped, unused-ignore]

    return tuple(setting.name for setting in KNOWN_SETTINGS)


@functools.cache
def uvicorn_parameters() -> tuple[str, ...]:
    import uvicorn

    names = inspect.signature(uvicorn.Config.__init__).parameters
    return tuple(name for name in names if name != "self")


def _unknown(name: str, known: tuple[str, ...], server: str) -> str:
    message = f"unknown {server} setting {name!r}"
    close = difflib.get_close_matches(name, known, n=1)
    return f"{message}; did you mean {close[0]!r}?" if close else message


def check_gunicorn_option(name: str, value: object) -> str | None:
    """None when gunicorn accepts `name = value`, else the message for the user."""
    if name in GUNICORN_OWNED:
        return f"gaia sets {name!r} itself: {GUNICORN_OWNED[name]}"
    if name not in gunicorn_settings():
        return _unknown(name, gunicorn_settings(), "gunicorn")
    from gunicorn.config import Config  # type: ignore[import-untyped, unused-ignore]

    try:
        Config().set(name, value)
    except Exception as exc:  # gunicorn's validators raise TypeError/ValueError and others
        return f"gunicorn rejects this value: {exc}"
    return None


@functools.cache
def _uvicorn_hints() -> Mapping[str, object]:
    import uvicorn

    try:
        return typing.get_type_hints(uvicorn.Config.__init__)
    except Exception:  # an annotation that cannot be resolved is checked by uvicorn itself
        return {}


_SCALARS = (bool, int, float, str)


def _fits(value: object, annotation: object) -> bool | None:
    """Whether a TOML value fits a uvicorn.Config annotation; None: cannot tell here
    (a class or a callable, which TOML cannot write), so uvicorn decides."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        return True
    if annotation in _SCALARS:
        assert isinstance(annotation, type)
        return is_kind(value, annotation)
    if annotation is type(None):
        return False  # TOML has no null
    if origin is typing.Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        answers = [_fits(value, option) for option in args]
        return True if True in answers else (None if None in answers else False)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) is not False for v in value)
    if origin is tuple:
        # TOML has no tuples: an array of the right length stands for one.
        return (
            isinstance(value, list)
            and len(value) == len(args)
            and all(_fits(v, a) is not False for v, a in zip(value, args, strict=True))
        )
    if origin is dict:
        return isinstance(value, dict)
    return None


def _expected(annotation: object) -> str:
    if annotation in _SCALARS:
        assert isinstance(annotation, type)
        return EXPECTED[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        known = [_expected(a) for a in args if a is not type(None)]
        return " or ".join(k for k in known if k)
    if origin is list:
        return f"an array whose items are each {_expected(args[0]) or 'a value uvicorn takes'}"
    if origin is tuple:
        items = ", ".join(_expected(a) or "a value" for a in args)
        return f"an array of {len(args)} values ({items})"
    if origin is dict:
        return "a table"
    return ""


def check_uvicorn_option(name: str, value: object) -> str | None:
    if name in UVICORN_OWNED:
        return f"gaia sets {name!r} itself: {UVICORN_OWNED[name]}"
    if name not in uvicorn_parameters():
        return _unknown(name, uvicorn_parameters(), "uvicorn")
    annotation = _uvicorn_hints().get(name, typing.Any)
    if _fits(value, annotation) is False:
        # Strict for scalars ("5" is not 5), as the rest of gaia.toml.
        expected = _expected(annotation) or "another type"
        return f"uvicorn expects {expected} here, got {describe(value, redact=False)}"
    return None
