"""What gaia's own account allows: only root runs an app as another user or hands a
socket to another owner. Checked with the config, so `gaia check` says so rather than
the start failing later."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, field

from gaia_runner.config.locate import KeyPath
from gaia_runner.config.reporter import Reporter


@dataclass(frozen=True)
class Account:
    """The account gaia runs as (a fake one in tests)."""

    uid: int = field(default_factory=os.geteuid)
    groups: frozenset[int] = field(
        default_factory=lambda: frozenset({os.getegid(), *os.getgroups()})
    )


def _uid(name: object) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid if isinstance(name, str) else None
    except KeyError:
        return None  # reported by the schema already


def _gid(name: object) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid if isinstance(name, str) else None
    except KeyError:
        return None


def check_privilege(
    data: Mapping[str, object], report: Reporter, account: Account | None = None
) -> None:
    me = account or Account()
    if me.uid == 0:
        return
    gaia = data.get("gaia")
    apps = data.get("apps")
    default_user = gaia.get("user") if isinstance(gaia, dict) else None
    runs_as = f"gaia runs as uid {me.uid}, not root"
    if (uid := _uid(default_user)) is not None and uid != me.uid:
        report.error(("gaia", "user"), f"only root can run apps as {default_user!r}: {runs_as}")
    for name, app in apps.items() if isinstance(apps, dict) else ():
        if not isinstance(app, dict):
            continue
        here: KeyPath = ("apps", name)
        user = app.get("user")
        if (uid := _uid(user)) is not None and uid != me.uid:
            report.error((*here, "user"), f"only root can run an app as {user!r}: {runs_as}")
        owner = app.get("socket_user")
        if (uid := _uid(owner)) is not None and uid != me.uid:
            report.error(
                (*here, "socket_user"), f"only root can give a socket to {owner!r}: {runs_as}"
            )
        group = app.get("socket_group")
        if (gid := _gid(group)) is not None and gid not in me.groups:
            report.error(
                (*here, "socket_group"),
                f"gaia (uid {me.uid}) is not in group {group!r}, so it cannot give it a socket",
            )
