"""A unix socket in a directory its app's user owns (/run/app): that user swaps gaia's
names there for links to root's files; gaia (root) must change nothing but its socket."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import FIXTURES, run_cli, wait_until

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0, reason="a second user needs root"),
]

APP = """
    [gaia]
    stop_timeout = "10s"

    [apps.web]
    app = "hello:app"
    server = "{server}"
    workers = 1
    bind = "unix:{socket}"
    user = "{user}"
    cwd = "{cwd}"
    socket_mode = "0660"
    socket_user = "{user}"
"""


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A /run/app: traversable to get there (pytest's tmp_path is private to root)."""
    top = Path(tempfile.mkdtemp(prefix="gaia-run-"))
    top.chmod(0o711)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def as_user(user: str, code: str, *args: str) -> None:
    """Run `code` as that user, the way an app's user can at any moment."""
    subprocess.run(
        [sys.executable, "-c", code, *args],
        user=user,
        group=user,
        extra_groups=[],
        env={},
        check=True,
        timeout=30,
        capture_output=True,
    )


SWAP = "import os, sys; os.symlink(sys.argv[1], sys.argv[2] + '.x'); os.replace(sys.argv[2] + '.x', sys.argv[2])"


def unix_get(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(path))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := client.recv(65536):
            data += chunk
        return data


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_restart_never_chmods_through_a_planted_link(
    gaia, app_user: str, run_dir: Path, tmp_path: Path, server: str
) -> None:
    uid = pwd.getpwnam(app_user).pw_uid
    app_dir = run_dir / "app"
    app_dir.mkdir()
    os.chown(app_dir, uid, uid)
    victim = tmp_path / "victim"  # root's 0600 file
    victim.write_text("root only")
    victim.chmod(0o600)
    sock = app_dir / "web.sock"
    g = gaia(APP.format(server=server, socket=sock, user=app_user, cwd=FIXTURES))
    g.wait_for(r"web: starting -> running", timeout=40)
    info = sock.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o660, uid)

    as_user(app_user, SWAP, str(victim), str(app_dir / ".web.sock.gaia"))
    restart = run_cli("restart", "web", "-c", str(g.config_path), cwd=g.workdir)
    assert restart.returncode == 0, restart.stderr
    g.wait_for(r"web: generation 2 serving", timeout=40)

    info = victim.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 0, 0)
    info = sock.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o660, uid)
    assert wait_until(lambda: unix_get(sock).startswith(b"HTTP/1.1 200"), 10, "served")
    assert g.stop() == 0
    assert victim.stat().st_mode & 0o777 == 0o600 and victim.read_text() == "root only"


def test_a_published_name_swapped_for_a_link_is_reported_and_left(
    gaia, app_user: str, run_dir: Path, tmp_path: Path
) -> None:
    """The user's own path replaced: gaia says so, touches neither the link nor its
    target, and keeps the app running."""
    uid = pwd.getpwnam(app_user).pw_uid
    app_dir = run_dir / "app"
    app_dir.mkdir()
    os.chown(app_dir, uid, uid)
    victim = tmp_path / "victim"
    victim.write_text("root only")
    victim.chmod(0o600)
    sock = app_dir / "web.sock"
    g = gaia(APP.format(server="gunicorn", socket=sock, user=app_user, cwd=FIXTURES))
    g.wait_for(r"web: starting -> running", timeout=40)

    as_user(app_user, SWAP, str(victim), str(sock))
    restart = run_cli("restart", "web", "-c", str(g.config_path), cwd=g.workdir)
    assert restart.returncode == 0, restart.stderr
    g.wait_for(r"web: socket mode/owner of unix:\S+ not applied: web.sock is not a socket")
    g.wait_for(r"web: generation 2 serving", timeout=40)
    assert g.stop() == 0
    info = victim.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, 0)
    assert sock.is_symlink()


def test_a_symlink_the_user_owns_on_the_way_to_the_socket_is_refused(
    gaia, app_user: str, run_dir: Path, tmp_path: Path
) -> None:
    """`~/deep -> /`: `~/deep/run/web.sock` would have had root bind, probe and remove
    sockets in /run. gaia refuses to go through another user's symlink and says where."""
    uid = pwd.getpwnam(app_user).pw_uid
    home = run_dir / "home"
    home.mkdir()
    os.chown(home, uid, uid)
    target = tmp_path / "roots"  # a root-owned directory the user must not reach
    (target / "run").mkdir(parents=True)
    stale = target / "run" / "web.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
        old.bind(str(stale))  # a stale socket of root's: it must stay
    as_user(
        app_user,
        "import os, sys; os.symlink(sys.argv[1], sys.argv[2])",
        str(target),
        str(home / "deep"),
    )
    g = gaia(
        APP.format(
            server="uvicorn", socket=home / "deep" / "run" / "web.sock", user=app_user, cwd=FIXTURES
        ),
        start=False,
    )
    g.start()
    g.wait_for(r"is a symlink owned by uid", timeout=30)
    assert stale.exists() and sorted(p.name for p in (target / "run").iterdir()) == ["web.sock"]
    g.stop()


def test_a_live_socket_with_a_full_backlog_does_not_hold_gaia(
    gaia, app_user: str, run_dir: Path
) -> None:
    """The user listens at the socket's path and fills the backlog: gaia's check whether
    the name is a stale socket waited in connect() for as long as the user liked."""
    uid = pwd.getpwnam(app_user).pw_uid
    app_dir = run_dir / "app"
    app_dir.mkdir()
    os.chown(app_dir, uid, uid)
    sock = app_dir / "web.sock"
    hold = (
        "import socket, sys, time\n"
        "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)\n"
        "c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(sock)],
        user=app_user,
        group=app_user,
        extra_groups=[],
        env={},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        g = gaia(
            APP.format(server="uvicorn", socket=sock, user=app_user, cwd=FIXTURES), start=False
        )
        g.start()
        g.wait_for(r"in use", timeout=20)
        status = run_cli("status", "-c", str(g.config_path), cwd=g.workdir, timeout=10)
        assert status.returncode in (0, 1, 3), status.stderr  # it answers: the loop runs
        g.stop()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
