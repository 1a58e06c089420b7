"""An app run as another user gets what gaia.toml gives it and a minimal base, never the
secrets in the environment of the root that started gaia (`sudo -E gaia up`)."""

from __future__ import annotations

import pwd

import psutil
import pytest
from harness import FIXTURES, free_port, http_get, try_get, wait_until

SECRET = "AWS_SECRET_ACCESS_KEY"

CONFIG = """
    [apps.web]
    app = "hello:app"
    server = "{server}"
    bind = "127.0.0.1:{port}"
    user = "{user}"
    cwd = "{cwd}"
    env = {{ GIVEN = "from-toml" }}
    # A step fails, and with it the start, if the secret reached it or the given value did not.
    prestart = [["sh", "-c", 'test -z "${secret}" && test "$GIVEN" = from-toml && test "$USER" = {user}']]
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_switched_app_and_prestart_lack_gaias_secrets(gaia, app_user: str, server: str) -> None:
    port = free_port()
    text = CONFIG.format(server=server, port=port, user=app_user, cwd=FIXTURES, secret=SECRET)
    g = gaia(text, env={SECRET: "root-only-value", "LANG": "C.UTF-8"})
    g.wait_for(r"web: starting -> running", timeout=45)
    wait_until(lambda: try_get(port), 30, "first answer")
    status, body = http_get(port, "/pid")
    assert status == 200
    account = pwd.getpwnam(app_user)
    for proc in (psutil.Process(int(body)), *psutil.Process(int(body)).parents()[:1]):
        env = proc.environ()
        assert SECRET not in env, proc.cmdline()
        assert env["GIVEN"] == "from-toml"
        assert (env["HOME"], env["USER"], env["LOGNAME"]) == (
            account.pw_dir,
            app_user,
            app_user,
        )
        assert env["SHELL"] == account.pw_shell
        assert env["LANG"] == "C.UTF-8"
        assert env["GAIA_APP"] == "web"
    assert g.stop() == 0
