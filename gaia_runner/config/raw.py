"""The shapes of the values a user may write in gaia.toml (settings.py says which key
takes which).

Every table forbids unknown keys so typos are caught, every field defaults to
"not written" so the resolved models in model.py stay the one place defaults
live, and every field whose TOML shape may vary (a string *or* an array, a
string *or* a table) is normalised by a validator with a plain-English error,
instead of a union that would report one error per alternative.

Cross-key rules (``app`` vs ``command``, server-specific keys, clashing binds)
are not here: they are checked on the parsed TOML in checks.py so they are
reported even when some other key of the same table has a type error.
"""

from __future__ import annotations

import grp
import ipaddress
import pwd
import shlex
from pathlib import Path

from gaia_runner.config.apptarget import parse_app_target
from gaia_runner.config.binds import parse_bind
from gaia_runner.config.schema import (
    Check,
    ListOf,
    Scalar,
    Table,
    at_least,
    at_most,
    describe,
    one_of,
    one_or_many,
)
from gaia_runner.config.units import parse_config_duration, parse_interval, parse_size


def _argv(v: object) -> object:
    if isinstance(v, str):
        try:
            return shlex.split(v)
        except ValueError as exc:
            raise ValueError(f"cannot split the command line: {exc}") from None
    if isinstance(v, list):
        return v
    raise ValueError(
        f"expected a command string or an array of strings, got {describe(v, redact=True)}"
    )


def import_string(v: str) -> str:
    parse_app_target(v)
    return v


def socket_mode(v: str) -> str:
    try:
        mode = int(v, 8)
    except ValueError:
        raise ValueError(f'expected an octal mode string like "0660", got {v!r}') from None
    if not 0 <= mode <= 0o777 or v.startswith(("-", "+")):
        raise ValueError(f'expected permission bits between "0000" and "0777", got {v!r}')
    return v


def _user(v: str) -> str:
    try:
        pwd.getpwnam(v)
    except KeyError:
        raise ValueError(f"no user {v!r} on this machine") from None
    return v


def _group(v: str) -> str:
    try:
        grp.getgrnam(v)
    except KeyError:
        raise ValueError(f"no group {v!r} on this machine") from None
    return v


def forwarded_allow_ips(v: object) -> object:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(
            f'expected "*" or an array of addresses and networks, got {describe(v, redact=True)}'
        )
    if "*" in items:
        if len(items) > 1:
            raise ValueError('"*" trusts every peer; it cannot be combined with addresses')
        return items
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (like 10.0.0.0/8)"
            ) from None
    return items


def workers(v: object) -> int | str:
    if v == "auto":
        return "auto"
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 1:
            raise ValueError(f"must be >= 1, got {v}")
        return v
    shown = repr(v) if isinstance(v, str | float) else describe(v, redact=True)
    raise ValueError(
        f'expected a number of processes (>= 1), "auto" or {{ min = N, max = M }}, got {shown}'
    )


def _count_or_auto(v: object) -> int | str:
    if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        return v
    shown = repr(v) if isinstance(v, str | float | int) else describe(v, redact=True)
    raise ValueError(f'expected a number of processes (>= 1) or "auto", got {shown}')


def env_key(v: str) -> str:
    # The kernel stores the environment as NUL-terminated KEY=VALUE strings,
    # so either character in a name makes exec fail when the app starts.
    if not v or "=" in v or "\0" in v:
        raise ValueError(
            f"invalid variable name {v!r}: it must be non-empty, without '=' or NUL characters"
        )
    return v


def env_value(v: object) -> str:
    # Keys are fine to echo in messages, values are not: they may be secrets.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | str):
        text = str(v)
        if "\0" in text:
            raise ValueError("the value contains a NUL character, which no process can receive")
        return text
    raise ValueError(f"expected a string, number or boolean, got {describe(v, redact=True)}")


def _path_text(v: str) -> str:
    if "\0" in v:
        raise ValueError("a path cannot contain a NUL character")
    if v.startswith("~"):
        try:
            Path(v).expanduser()
        except RuntimeError:
            user = v[1:].split("/", 1)[0]
            whose = f"user {user!r}" if user else "the current user"
            raise ValueError(
                f"cannot expand {v.split('/', 1)[0]!r}: no home directory for {whose}"
            ) from None
    return v


def _health(v: object) -> object:
    return {"path": v} if isinstance(v, str) else v


def _url_path(v: str) -> str:
    if not v.startswith("/"):
        raise ValueError(f'must start with "/", got {v!r}')
    return v


def metrics_address(v: str) -> str:
    if v.startswith("unix:"):
        raise ValueError(f'expected "HOST:PORT" (TCP), got {v!r}')
    parse_bind(v, Path("/"))
    return v


def _bind(v: str) -> str:
    if v.startswith("unix:"):
        _path_text(v.removeprefix("unix:"))
    parse_bind(v, Path("/"))
    return v


def duration_or_off(v: object) -> float:
    """A watchdog threshold: a duration (at least MIN_INTERVAL), or `false`/"off"/0."""
    if (
        v is False
        or v == "off"
        or (isinstance(v, int | float) and not isinstance(v, bool) and v == 0)
    ):
        return 0.0
    if v is True:
        raise ValueError('expected a duration such as "10s", or "off", got true')
    return parse_interval(v)


def _str(*checks: Check) -> Scalar:
    return Scalar(str, checks)


def _int(*checks: Check) -> Scalar:
    return Scalar(int, checks)


def _argument(v: str) -> str:
    # exec takes NUL-terminated strings: subprocess refuses the spawn, so check does too.
    if "\0" in v:
        raise ValueError("an argument cannot contain a NUL character")
    return v


Argv = ListOf(_str(_argument), non_empty=True, shorthand=_argv)
Duration = parse_config_duration
Interval = parse_interval
Size = parse_size
PathText = _str(_path_text)
UserName = _str(_user)
GroupName = _str(_group)
# Settings for the server, passed through as written; checks.py validates them
# against the installed server, where the server the app uses is known.
ServerOptions = Scalar(dict)

LOGS = Table({"max_size": Size, "keep": _int(at_least(0), at_most(100))})

HTTPS = Table(
    {
        "certfile": PathText,
        "keyfile": PathText,
        "ca_certs": PathText,
        "client_auth": one_of("none", "optional", "required"),
    },
    required=("certfile", "keyfile"),
)

BACKOFF = Table(
    {
        "initial": Duration,
        "factor": Scalar(float, (at_least(1.0),)),
        "max": Duration,
        "reset_after": Duration,
    }
)

MEMORY = Table(
    {
        "worker": Size,
        "total": Size,
        "interval": Interval,
        "samples": _int(at_least(1)),
    }
)

HEALTH = Table(
    {
        "path": _str(_url_path),
        "interval": Interval,
        "timeout": Interval,
        "failures": _int(at_least(1)),
    },
    shorthand=_health,
)

# `workers = { min = 2, max = 8 }`: adaptive workers; the tuning keys are rarely set.
WORKERS = Table(
    {
        "min": _int(at_least(1)),
        "max": _count_or_auto,
        "up_after": Interval,
        "down_after": Interval,
        "step": _int(at_least(1)),
    },
    required=("min", "max"),
    scalar=workers,
)


def int_at_least(bound: int) -> Scalar:
    return _int(at_least(bound))


Binds = ListOf(_str(_bind), non_empty=True, shorthand=one_or_many)
Steps = ListOf(Argv, shorthand=one_or_many)
