"""`gaia init`: a small, commented gaia.toml to start from."""

from __future__ import annotations

from typing import Any

import tomli_w

STARTER: dict[str, Any] = {
    "gaia": {"state_dir": ".gaia", "stop_timeout": "30s"},
    "apps": {
        "web": {
            "app": "main:app",
            "server": "gunicorn",
            "workers": 2,
            "bind": "127.0.0.1:8000",
            "prestart": [],
            "restart": "always",
            "health": "/",
        }
    },
}

# tomli-w writes no comments, so they are attached to its output line by line.
COMMENTS = {
    "state_dir": "generated server configs, logs",
    "stop_timeout": "graceful stop budget per app, then SIGKILL",
    "app": 'import string "module:attr"; "module:factory()" works too',
    "server": '"gunicorn" (with uvicorn workers) or "uvicorn"',
    "workers": 'worker processes: a number or "auto" (the CPUs gaia may use)',
    "bind": '"HOST:PORT", "[::1]:PORT", "unix:/path.sock" or a list of them',
    "prestart": 'run in order before starting, e.g. ["alembic upgrade head"]',
    "restart": '"always", "on-failure" or "never"',
    "health": "probed through the app's socket; failures restart the app",
}

HEADER = """\
# gaia.toml: how gaia runs your apps. `gaia check` validates it, `gaia up` runs it.
# Every key is documented in gaia's README. Edit it while gaia runs: it follows.

"""


def starter_text() -> str:
    lines = []
    for line in tomli_w.dumps(STARTER).splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and key in COMMENTS:
            line = f"{line}  # {COMMENTS[key]}"
        lines.append(line)
    return HEADER + "\n".join(lines) + "\n"
