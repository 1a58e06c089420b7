"""Every gaia.toml key, declared once: how it is checked (here), and its type, default,
which apps take it, how a live edit of it applies and why, and its documentation (in
settings.toml beside this module: a data table rather than forty look-alike calls).

The validation tables, the web-only and restart-only lists, `gaia init`'s comments
and docs/configuration.md are all generated from them (a unit test keeps the
generated document in step). model.py still holds the typed defaults; a unit test
checks that each default declared here builds the same value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

from gaia_runner.config import raw
from gaia_runner.config.depends import depends_on
from gaia_runner.config.schema import MapOf, Scalar, Spec, Table, non_empty, one_of


class Apply(IntEnum):
    """How a live edit of a key reaches the running app, from lightest to heaviest.
    The heaviest mode among an edit's changed keys is what the reload does."""

    NOTHING = 0
    """No running process uses it (`image` is for `gaia export`)."""
    IN_PLACE = 1
    """The supervisor (or the socket gaia holds) takes it: no process is started."""
    SCALE = 2
    """Workers are added or retired by TTIN/TTOU (copies, for a command): no restart."""
    ROLL = 3
    """What the server or its workers read: new workers, no prestart. A HUP to the serving
    master where it re-reads what changed (TLS files; gunicorn's config file), else a new
    generation beside the serving one, without prestart (plan.py decides)."""
    REPLACE = 4
    """What changes the app itself: prestart runs, then a new generation replaces the
    serving one without downtime."""
    RESTART_GAIA = 5
    """Refused while gaia runs: restart gaia to change it."""

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    Apply.NOTHING: "no effect on running apps",
    Apply.IN_PLACE: "in place",
    Apply.SCALE: "scale in place",
    Apply.ROLL: "roll workers",
    Apply.REPLACE: "replace",
    Apply.RESTART_GAIA: "restart gaia",
}


class Apps(StrEnum):
    """Which [apps.NAME] tables take a key."""

    WEB = "web"
    COMMAND = "command"
    BOTH = "both"


@dataclass(frozen=True)
class Setting:
    key: str
    spec: Spec
    kind: str  # the type as the reference shows it
    default: str  # a TOML value, or words ("none", "see below")
    apply: Apply
    why: str  # why the edit applies that way
    doc: str
    apps: Apps = Apps.BOTH
    comment: str = ""  # `gaia init`'s comment, for the keys its starter file writes

    @property
    def reruns_prestart(self) -> bool:
        return self.apply is Apply.REPLACE


# How each key's value is checked; everything else about it is in settings.toml.
GAIA_SPECS: Mapping[str, Spec] = {
    "state_dir": raw.PathText,
    "stop_timeout": raw.Duration,
    "env_file": raw.PathText,
    "image": Scalar(str, (non_empty,)),
    "user": raw.UserName,
    "logs": raw.LOGS,
    "metrics": Scalar(str, (raw.metrics_address,)),
}
APP_SPECS: Mapping[str, Spec] = {
    "app": Scalar(str, (raw.import_string,)),
    "command": raw.Argv,
    "server": one_of("gunicorn", "uvicorn"),
    "worker_class": one_of("uvicorn", "asgi", "sync", "gthread"),
    "workers": raw.WORKERS,
    "bind": raw.Binds,
    "cwd": raw.PathText,
    "env": MapOf(raw.env_value, key=raw.env_key),
    "env_file": raw.PathText,
    "prestart": raw.Steps,
    "prestart_timeout": raw.Duration,
    "retry_prestart": Scalar(bool),
    "depends_on": depends_on,
    "https": raw.HTTPS,
    "timeout": raw.Duration,
    "graceful_timeout": raw.Duration,
    "max_requests": raw.int_at_least(0),
    "max_requests_jitter": raw.int_at_least(0),
    "threads": raw.int_at_least(1),
    "access_log": Scalar(bool),
    "start_timeout": raw.Duration,
    "restart": one_of("always", "on-failure", "never"),
    "max_start_failures": raw.int_at_least(1),
    "backoff": raw.BACKOFF,
    "memory": raw.MEMORY,
    "health": raw.HEALTH,
    "socket_mode": Scalar(str, (raw.socket_mode,)),
    "socket_user": raw.UserName,
    "socket_group": raw.GroupName,
    "forwarded_allow_ips": raw.forwarded_allow_ips,
    "user": raw.UserName,
    "gunicorn": raw.ServerOptions,
    "uvicorn": raw.ServerOptions,
    "metrics": Scalar(bool),
    "slow_request": raw.duration_or_off,
    "slow_request_action": one_of("log", "cancel"),
    "blocked_loop": raw.duration_or_off,
}


def _declared(
    file: Mapping[str, dict[str, dict[str, str]]], table: str, specs: Mapping[str, Spec]
) -> tuple[Setting, ...]:
    declared = file[table]
    if list(declared) != list(specs):  # a key added to one place and not the other
        raise RuntimeError(f"settings.toml [{table}] and its specs name different keys")
    return tuple(
        Setting(
            key,
            specs[key],
            kind=entry["kind"],
            default=entry["default"],
            apply=Apply[entry["apply"].upper()],
            why=entry["why"],
            doc=entry["doc"],
            apps=Apps(entry.get("apps", "both")),
            comment=entry.get("comment", ""),
        )
        for key, entry in declared.items()
    )


# Read once, beside this module (as a wheel installs it): `gaia up` reads it before its
# first spawn, and importlib.resources alone cost more than the read.
_FILE = tomllib.loads(Path(__file__).with_name("settings.toml").read_text(encoding="utf-8"))
GAIA_SETTINGS = _declared(_FILE, "gaia", GAIA_SPECS)
APP_SETTINGS = _declared(_FILE, "apps", APP_SPECS)

GAIA_KEYS: Mapping[str, Setting] = {s.key: s for s in GAIA_SETTINGS}
APP_KEYS: Mapping[str, Setting] = {s.key: s for s in APP_SETTINGS}

# The generated tables and lists.
GAIA = Table({s.key: s.spec for s in GAIA_SETTINGS})
APP = Table({s.key: s.spec for s in APP_SETTINGS})
FILE = Table({"gaia": GAIA, "apps": MapOf(APP)})

WEB_ONLY_KEYS = tuple(s.key for s in APP_SETTINGS if s.apps is Apps.WEB and s.key != "app")
"""Keys that configure the web server; a `command` app has none."""
RESTART_ONLY = tuple(s.key for s in GAIA_SETTINGS if s.apply is Apply.RESTART_GAIA)
INIT_COMMENTS: Mapping[str, str] = {
    s.key: s.comment for s in (*GAIA_SETTINGS, *APP_SETTINGS) if s.comment
}
