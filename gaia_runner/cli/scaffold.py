"""`gaia init`: a small, commented gaia.toml to start from, and a starter app when the
directory has none. A health check is only written for a path gaia knows exists: a
guessed one would keep a real app from ever becoming RUNNING."""

from __future__ import annotations

import copy
from typing import Any

import tomli_w

from gaia_runner.config.settings import INIT_COMMENTS

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
COMMENTS = INIT_COMMENTS

HEADER = """\
# gaia.toml: how gaia runs your apps. `gaia check` validates it, `gaia up` runs it.
# Every key is documented in gaia's docs/configuration.md. Edit it while gaia runs: it follows.

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
