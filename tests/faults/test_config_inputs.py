"""Config inputs a local user may control, read by a root gaia (issue 18.2, 18.6, 19.2).

A hostile app user plants a symlink, makes gaia.toml writable, swaps a FIFO in, or a
syntax error sits inside a secret: gaia refuses clearly, changes nothing that runs, and
keeps supervising, answering and stopping."""

from __future__ import annotations

import functools
import os
import pwd
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from harness import FIXTURES, Gaia, free_port, http_get, run_cli, wait_until
from test_up import app_master

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0, reason="the trust boundary exists only for root"),
]

NOBODY = 65534
SECRET = "u5ZQ7y9rKd0cW1x3mJ8bN2vT6aQeR4sLpY0hZk"


def fragments(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(len(text) - size + 1)]


def leaked(output: str) -> list[str]:
    return [f for f in fragments(SECRET) if f in output]


def app_config(port: int, extra: str = "") -> str:
    return f"""
        [gaia]
        stop_timeout = "5s"

        [apps.web]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"
        cwd = "{FIXTURES}"
        {extra}
    """


def worker_environ(port: int) -> dict[str, str]:
    status, body = http_get(port, "/")
    assert status == 200, body
    return psutil.Process(int(body.split()[-1])).environ()


def as_user(user: str, *argv: str) -> None:
    entry = pwd.getpwnam(user)
    subprocess.run(argv, user=entry.pw_uid, group=entry.pw_gid, check=True, timeout=30)


def rejected(g: Gaia, start: int, pattern: str) -> None:
    g.wait_for(r"not applied, apps unchanged", timeout=30, start=start)
    g.wait_for(pattern, timeout=10, start=start)


# -- per-app inputs are read as the app's user ---------------------------------------------


def test_a_planted_env_symlink_never_brings_roots_secret_into_the_app(
    gaia: Callable[..., Gaia], app_user: str, open_dir: Path
) -> None:
    home = open_dir / "app"
    home.mkdir()
    entry = pwd.getpwnam(app_user)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    env = home / ".env"
    as_user(app_user, "sh", "-c", f"echo APP_SETTING=one > {env}")
    secrets = open_dir / "secrets.env"
    secrets.write_text(f"ROOT_TOKEN={SECRET}\n")
    secrets.chmod(0o600)
    port = free_port()
    g = gaia(app_config(port, f'user = "{app_user}"\n        env_file = "{env}"'))
    g.wait_for(r"web: starting -> running", timeout=40)
    assert worker_environ(port)["APP_SETTING"] == "one"
    master = app_master(g.pid, "web").pid

    mark = g.mark()
    as_user(app_user, "ln", "-sfn", str(secrets), str(env))  # the watcher reloads on its own
    rejected(g, mark, rf"{re.escape(str(env))} cannot be read by the app's user '{app_user}'")
    reload = run_cli("reload", "-c", str(g.config_path), cwd=g.workdir)
    assert reload.returncode != 0 and "permission denied" in reload.stderr, reload
    environ = worker_environ(port)
    assert "ROOT_TOKEN" not in environ and environ["APP_SETTING"] == "one"
    assert app_master(g.pid, "web").pid == master
    assert not leaked(g.output() + reload.stdout + reload.stderr)
    assert g.stop() == 0


def test_a_deploy_users_current_symlink_layout_keeps_working(
    gaia: Callable[..., Gaia], new_user: Callable[[], str], open_dir: Path
) -> None:
    deploy, app = new_user(), new_user()
    deployer = pwd.getpwnam(deploy)
    site = open_dir / "site"
    site.mkdir()
    os.chown(site, deployer.pw_uid, deployer.pw_gid)
    for release, value in (("1", "one"), ("2", "two")):
        as_user(deploy, "mkdir", "-p", f"{site}/releases/{release}")
        as_user(deploy, "sh", "-c", f"echo APP_SETTING={value} > {site}/releases/{release}/.env")
    as_user(deploy, "ln", "-sfn", f"{site}/releases/1", f"{site}/current")
    port = free_port()
    extra = f'user = "{app}"\n        env_file = "{site}/current/.env"'
    g = gaia(app_config(port, extra), "--no-watch")
    g.wait_for(r"web: starting -> running", timeout=40)
    assert worker_environ(port)["APP_SETTING"] == "one"

    as_user(deploy, "ln", "-sfn", f"{site}/releases/2", f"{site}/current.new")
    as_user(deploy, "mv", "-T", f"{site}/current.new", f"{site}/current")
    reload = run_cli("reload", "-c", str(g.config_path), cwd=g.workdir)
    assert reload.returncode == 0, reload
    wait_until(lambda: worker_environ(port).get("APP_SETTING") == "two", 40, "release 2's env")
    assert g.stop() == 0


# -- gaia.toml must be root's alone ---------------------------------------------------------


def up(config: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    # Run from above the config's folder: `python -m` puts the working directory on sys.path,
    # and a root gaia refuses a sys.path directory others can write (a different check).
    return run_cli(
        "up", "--no-tui", "--no-watch", "-c", str(config), cwd=config.parent.parent, timeout=timeout
    )


def test_a_config_another_user_can_change_is_refused_at_up(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o755)
    config = folder / "gaia.toml"
    config.write_text(app_config(free_port()))
    os.chown(config, NOBODY, NOBODY)
    done = up(config)
    assert done.returncode == 2, done
    assert f"{config}: config file is owned by uid {NOBODY}" in done.stderr
    assert f"chown root {config}" in done.stderr
    os.chown(config, 0, 0)
    folder.chmod(0o775)
    for command in ("up", "check"):
        done = up(config) if command == "up" else run_cli("check", "-c", str(config), cwd=tmp_path)
        assert done.returncode == 2, done
        assert f"directory {folder} is writable by its group" in done.stderr
        assert f"chmod go-w {folder}" in done.stderr
    assert not (folder / ".gaia" / "gaia.pid").exists()


def test_a_hot_reload_of_a_config_others_can_write_is_rejected(
    gaia: Callable[..., Gaia],
) -> None:
    port = free_port()
    g = gaia(app_config(port, 'env = { APP_VERSION = "v1" }'))
    g.wait_for(r"web: starting -> running", timeout=40)
    master = app_master(g.pid, "web").pid
    g.config_path.chmod(0o666)
    mark = g.mark()
    # An edit that would run a command as root, saved by whoever can write the file.
    g.write_config(
        app_config(port, 'env = { APP_VERSION = "v2" }')
        + f'\n[apps.evil]\ncommand = ["sh", "-c", "id > {g.workdir}/owned"]\n'
    )
    rejected(g, mark, r"config file is writable by its group and others.*chmod go-w")
    reload = run_cli("reload", "-c", str(g.config_path), cwd=g.workdir)
    assert reload.returncode != 0 and "writable by its group and others" in reload.stderr
    assert http_get(port, "/")[1].startswith("hello v1")
    assert app_master(g.pid, "web").pid == master
    assert "evil" not in run_cli("status", "-c", str(g.config_path), cwd=g.workdir).stdout
    assert g.stop() == 0
    assert not (g.workdir / "owned").exists()


# -- non-regular files ----------------------------------------------------------------------


def test_a_fifo_swapped_in_for_gaia_toml_stops_nothing(gaia: Callable[..., Gaia]) -> None:
    port = free_port()
    g = gaia(app_config(port))
    g.wait_for(r"web: starting -> running", timeout=40)
    master = app_master(g.pid, "web")
    fifo = g.workdir / "gaia.toml.fifo"
    os.mkfifo(fifo)
    mark = g.mark()
    fifo.replace(g.config_path)
    rejected(g, mark, r"config file is a FIFO \(named pipe\), expected a file")

    master.kill()  # supervision goes on: the app comes back
    wait_until(lambda: app_master(g.pid, "web").pid != master.pid, 30, "a new master")
    wait_until(lambda: http_get(port, "/")[0] == 200, 30, "the app serving again")
    status = run_cli("status", "-c", str(g.config_path), cwd=g.workdir, timeout=15)
    assert status.returncode == 0 and "web" in status.stdout, status
    assert g.stop(timeout=5 + 1 + 2) == 0  # stop_timeout + 1 s, and some slack


@pytest.mark.parametrize("command", ["check", "up"])
def test_a_fifo_env_file_is_an_error_at_once(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "app.env")
    config = tmp_path / "gaia.toml"
    config.write_text(app_config(free_port(), 'env_file = "app.env"'))
    # A read that blocked on the FIFO would hang until the timeout below fails the test.
    check = functools.partial(run_cli, "check", "-c", str(config), cwd=tmp_path, timeout=10)
    done = up(config, timeout=10) if command == "up" else check()
    assert done.returncode == 2, done
    assert f"{tmp_path / 'app.env'} is a FIFO (named pipe), expected a file" in done.stderr


def test_a_tls_file_that_is_a_fifo_is_an_error_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cert.pem")
    (tmp_path / "key.pem").write_text("")
    config = tmp_path / "gaia.toml"
    tls = 'https = { certfile = "cert.pem", keyfile = "key.pem" }'
    config.write_text(app_config(free_port(), tls))
    done = run_cli("check", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2 and "cert.pem is a FIFO" in done.stderr, done


# -- secrets in TOML syntax errors ----------------------------------------------------------

BROKEN_ENV = {
    "multi-line string in an inline env table": (
        'env = {{ PRIVATE_KEY = """-----BEGIN KEY-----\n{a}\\q{b}\n-----END KEY-----""" }}'
    ),
    "inline env table on a later line": 'env = {{ A = "1",\n  TOKEN = "{a}{b}" }}',
    "[apps.x.env] table": '[apps.web.env]\nTOKEN = """\n{a}\\x{b}\n"""',
}


def broken(port: int, case: str) -> str:
    half = len(SECRET) // 2
    value = BROKEN_ENV[case].format(a=SECRET[:half], b=SECRET[half:])
    return app_config(port, value.replace("\n", "\n        "))


@pytest.mark.parametrize("case", BROKEN_ENV)
def test_a_syntax_error_in_an_env_value_shows_none_of_it(
    gaia: Callable[..., Gaia], tmp_path: Path, case: str
) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text(broken(free_port(), case).replace("\n        ", "\n"))
    for done in (run_cli("check", "-c", str(config), cwd=tmp_path), up(config)):
        assert done.returncode == 2 and "invalid TOML" in done.stderr, done
        assert re.search(r"gaia\.toml:\d+: invalid TOML: .* at column \d+", done.stderr), done
        assert not leaked(done.stdout + done.stderr), done.stderr

    port = free_port()
    g = gaia(app_config(port))
    g.wait_for(r"web: starting -> running", timeout=40)
    mark = g.mark()
    g.write_config(broken(port, case))
    rejected(g, mark, r"invalid TOML")
    reload = run_cli("reload", "-c", str(g.config_path), cwd=g.workdir)
    assert "invalid TOML" in reload.stderr
    assert g.stop() == 0
    log = (g.workdir / ".gaia" / "logs" / "gaia.log").read_text()
    assert "invalid TOML" in log
    assert not leaked(g.output() + reload.stdout + reload.stderr + log)


def test_tls_files_are_read_as_the_apps_user(open_dir: Path) -> None:
    secret = open_dir / "root-only.key"
    secret.write_text(f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n")
    secret.chmod(0o600)
    (open_dir / "cert.pem").symlink_to(secret)
    (open_dir / "key.pem").symlink_to(secret)
    config = open_dir / "gaia.toml"
    tls = 'user = "nobody"\n        https = { certfile = "cert.pem", keyfile = "key.pem" }'
    config.write_text(app_config(free_port(), tls))
    done = run_cli("check", "-c", str(config), cwd=open_dir)
    assert done.returncode == 2, done
    for name in ("cert.pem", "key.pem"):
        assert f"{open_dir / name} cannot be read by the app's user 'nobody'" in done.stderr
    assert not leaked(done.stdout + done.stderr)
