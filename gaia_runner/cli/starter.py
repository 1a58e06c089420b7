"""`gaia init`: a small, commented gaia.toml to start from, and a starter app when the
directory has none. A health check is only written for a path gaia knows exists: a
guessed one would keep a real app from ever becoming RUNNING."""

from __future__ import annotations

import copy
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


STARTER_APP = '''"""A starter ASGI app written by `gaia init`; replace it with yours."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b"ok" if scope["path"] == "/healthz" else b"hello from gaia"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
'''


def starter_text(with_app: bool = False) -> str:
    """`with_app`: the starter app (which answers /healthz) is written beside it."""
    starter = copy.deepcopy(STARTER)
    if with_app:
        starter["apps"]["web"]["health"] = "/healthz"
    lines = []
    for line in tomli_w.dumps(starter).splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and key in COMMENTS:
            line = f"{line}  # {COMMENTS[key]}"
        lines.append(line)
    return HEADER + "\n".join(lines) + "\n"
