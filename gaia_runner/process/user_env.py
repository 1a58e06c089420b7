"""The environment an app switched to another user starts from.

gaia's own environment is the operator's: a root shell's `sudo -E gaia up` carries AWS_*,
VAULT_TOKEN, SSH_AUTH_SOCK and the like. An app that runs as its own user is on the
other side of a trust boundary, so it gets only what any login of that user would have
plus the locale and clock, and then what gaia.toml gives it. An app that runs as gaia's
own user keeps gaia's whole environment: it could read gaia's /proc/PID/environ anyway.
"""

from __future__ import annotations

import pwd
from collections.abc import Mapping

# Inherited from gaia when set: they only shape how text, time and a terminal look.
_KEPT = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TERM"})
_KEPT_PREFIXES = ("LC_", "GAIA_")  # GAIA_*: gaia's own plumbing (metrics socket, app name)


def switched_user_base(base: Mapping[str, str], account: pwd.struct_passwd) -> dict[str, str]:
    env = {
        key: value for key, value in base.items() if key in _KEPT or key.startswith(_KEPT_PREFIXES)
    }
    env.update(
        HOME=account.pw_dir,
        USER=account.pw_name,
        LOGNAME=account.pw_name,
        SHELL=account.pw_shell or "/bin/sh",
    )
    return env
