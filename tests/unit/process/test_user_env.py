from __future__ import annotations

import pwd

from gaia_runner.process.user_env import switched_user_base

ACCOUNT = pwd.struct_passwd(("app", "x", 1001, 1001, "", "/srv/app", "/bin/bash"))


def test_only_the_minimal_base_and_gaias_plumbing_cross_to_another_user() -> None:
    base = {
        "PATH": "/venv/bin:/usr/bin",
        "LANG": "C.UTF-8",
        "LC_TIME": "en_GB.UTF-8",
        "TZ": "UTC",
        "TERM": "xterm",
        "GAIA_METRICS_SOCKET": "/run/m.sock",
        "AWS_SECRET_ACCESS_KEY": "s",
        "VAULT_TOKEN": "t",
        "SSH_AUTH_SOCK": "/tmp/agent",
        "HOME": "/root",
        "PYTHONPATH": "/root/lib",
    }
    kept = ("PATH", "LANG", "LC_TIME", "TZ", "TERM", "GAIA_METRICS_SOCKET")
    assert switched_user_base(base, ACCOUNT) == {
        **{key: base[key] for key in kept},
        "HOME": "/srv/app",
        "USER": "app",
        "LOGNAME": "app",
        "SHELL": "/bin/bash",
    }
