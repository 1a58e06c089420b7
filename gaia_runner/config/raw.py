"""Pydantic models of exactly what a user may write in gaia.toml.

Every table forbids unknown keys so typos are caught, every field defaults to
"not written" so the resolved models in model.py stay the one place defaults
live, and every field whose TOML shape may vary (a string *or* an array, a
string *or* a table) is normalised by a validator with a plain-English error,
instead of a pydantic union that would report one error per alternative.

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
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator

from gaia_runner.config.apptarget import parse_app_target
from gaia_runner.config.binds import parse_bind
from gaia_runner.config.units import parse_config_duration, parse_interval, parse_size

Duration = Annotated[float, PlainValidator(parse_config_duration)]
Interval = Annotated[float, PlainValidator(parse_interval)]
Size = Annotated[int, PlainValidator(parse_size)]


def _kind(v: object) -> str:
    """How a TOML value is described in messages: its type, never its content."""
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return "a date/time"


def _argv(v: object) -> object:
    if isinstance(v, str):
        try:
            return shlex.split(v)
        except ValueError as exc:
            raise ValueError(f"cannot split the command line: {exc}") from None
    if isinstance(v, list):
        return v
    raise ValueError(f"expected a command string or an array of strings, got {_kind(v)}")


def _one_or_many(v: object) -> object:
    return [v] if isinstance(v, str) else v


def _import_string(v: str) -> str:
    parse_app_target(v)
    return v


def _socket_mode(v: str) -> str:
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


def _forwarded_allow_ips(v: object) -> object:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f'expected "*" or an array of addresses and networks, got {_kind(v)}')
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


def _workers(v: object) -> int | str:
    if v == "auto":
        return "auto"
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 1:
            raise ValueError(f"must be >= 1, got {v}")
        return v
    shown = repr(v) if isinstance(v, str | float) else _kind(v)
    raise ValueError(f'expected a number of processes (>= 1) or "auto", got {shown}')


def _env_key(v: str) -> str:
    # The kernel stores the environment as NUL-terminated KEY=VALUE strings,
    # so either character in a name makes exec fail when the app starts.
    if not v or "=" in v or "\0" in v:
        raise ValueError(
            f"invalid variable name {v!r}: it must be non-empty, without '=' or NUL characters"
        )
    return v


def _env_value(v: object) -> str:
    # Keys are fine to echo in messages, values are not: they may be secrets.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | str):
        text = str(v)
        if "\0" in text:
            raise ValueError("the value contains a NUL character, which no process can receive")
        return text
    raise ValueError(f"expected a string, number or boolean, got {_kind(v)}")


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


def _metrics_address(v: str) -> str:
    if v.startswith("unix:"):
        raise ValueError(f'expected "HOST:PORT" (TCP), got {v!r}')
    parse_bind(v, Path("/"))
    return v


def _bind(v: str) -> str:
    if v.startswith("unix:"):
        _path_text(v.removeprefix("unix:"))
    parse_bind(v, Path("/"))
    return v


Argv = Annotated[list[str], BeforeValidator(_argv), Field(min_length=1)]
ImportString = Annotated[str, AfterValidator(_import_string)]
BindText = Annotated[str, AfterValidator(_bind)]
MetricsAddress = Annotated[str, AfterValidator(_metrics_address)]
EnvKey = Annotated[str, AfterValidator(_env_key)]
EnvValue = Annotated[str, PlainValidator(_env_value)]
PathText = Annotated[str, AfterValidator(_path_text)]


class _Raw(BaseModel):
    # strict: TOML values are already typed, so `workers = true` or
    # `port = "80"` are mistakes to report, not strings to coerce.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


UserName = Annotated[str, AfterValidator(_user)]
GroupName = Annotated[str, AfterValidator(_group)]
# Settings for the server, passed through as written; checks.py validates them
# against the installed server, where the server the app uses is known.
ServerOptions = dict[str, object]


class RawLogs(_Raw):
    max_size: Size | None = None
    keep: int | None = Field(default=None, ge=0, le=100)


class RawGaia(_Raw):
    state_dir: PathText | None = None
    stop_timeout: Duration | None = None
    env_file: PathText | None = None
    image: Annotated[str, Field(min_length=1)] | None = None
    user: UserName | None = None
    logs: RawLogs | None = None
    metrics: MetricsAddress | None = None


class RawHttps(_Raw):
    certfile: PathText
    keyfile: PathText
    ca_certs: PathText | None = None
    client_auth: Literal["none", "optional", "required"] | None = None


class RawBackoff(_Raw):
    initial: Duration | None = None
    factor: float | None = Field(default=None, ge=1.0)
    max: Duration | None = None
    reset_after: Duration | None = None


class RawMemory(_Raw):
    worker: Size | None = None
    total: Size | None = None
    interval: Interval | None = None
    samples: int | None = Field(default=None, ge=1)


class RawHealth(_Raw):
    path: Annotated[str, AfterValidator(_url_path)] | None = None
    interval: Interval | None = None
    timeout: Interval | None = None
    failures: int | None = Field(default=None, ge=1)


class RawApp(_Raw):
    app: ImportString | None = None
    command: Argv | None = None
    server: Literal["gunicorn", "uvicorn"] | None = None
    worker_class: Literal["uvicorn", "asgi", "sync", "gthread"] | None = None
    workers: Annotated[int | Literal["auto"], PlainValidator(_workers)] | None = None
    bind: Annotated[list[BindText], BeforeValidator(_one_or_many), Field(min_length=1)] | None = (
        None
    )
    cwd: PathText | None = None
    env: dict[EnvKey, EnvValue] | None = None
    env_file: PathText | None = None
    prestart: Annotated[list[Argv], BeforeValidator(_one_or_many)] | None = None
    prestart_timeout: Duration | None = None
    https: RawHttps | None = None
    timeout: Duration | None = None
    graceful_timeout: Duration | None = None
    max_requests: int | None = Field(default=None, ge=0)
    max_requests_jitter: int | None = Field(default=None, ge=0)
    threads: int | None = Field(default=None, ge=1)
    access_log: bool | None = None
    start_timeout: Duration | None = None
    restart: Literal["always", "on-failure", "never"] | None = None
    max_start_failures: int | None = Field(default=None, ge=1)
    backoff: RawBackoff | None = None
    memory: RawMemory | None = None
    health: Annotated[RawHealth, BeforeValidator(_health)] | None = None
    socket_mode: Annotated[str, AfterValidator(_socket_mode)] | None = None
    socket_user: UserName | None = None
    socket_group: GroupName | None = None
    forwarded_allow_ips: Annotated[list[str], PlainValidator(_forwarded_allow_ips)] | None = None
    user: UserName | None = None
    gunicorn: ServerOptions | None = None
    uvicorn: ServerOptions | None = None
    metrics: bool | None = None


class RawFile(_Raw):
    gaia: RawGaia | None = None
    apps: dict[str, RawApp] | None = None
