"""gaia trusts state_dir: it must be private, and no write into it may follow a link."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from harness import free_port, run_cli

pytestmark = pytest.mark.timeout(90)

NOBODY = 65534  # another local user; root can hand a directory to it with chown


def write_config(tmp_path: Path, state_dir: Path, port: int) -> Path:
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent(f"""
            [gaia]
            state_dir = "{state_dir}"

            [apps.web]
            app = "hello:app"
            bind = "127.0.0.1:{port}"
            workers = 1
        """)
    )
    return config


def up_exit(tmp_path: Path, config: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = run_cli("up", "--no-tui", "--no-watch", "-c", str(config), cwd=tmp_path, env=env)
    return done.returncode, done.stderr


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_group_or_world_writable_state_dir_is_refused(tmp_path: Path, mode: int) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)
    code, err = up_exit(tmp_path, write_config(tmp_path, state, free_port()))
    assert code == 2, err
    assert "unsafe state_dir" in err and "writable by group or others" in err
    assert not (state / "gaia.pid").exists() and not (state / "run").exists()


def test_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)
    code, err = up_exit(tmp_path, write_config(tmp_path, state, free_port()))
    assert code == 2, err
    assert f"owned by uid {NOBODY}" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="the way to the state dir matters to a root gaia")
def test_a_state_dir_below_another_users_directory_is_refused(tmp_path: Path) -> None:
    """Whoever owns a directory above the state dir can rename it away and plant a `logs`
    link: root's next log rotation would then write where the link points."""
    theirs = tmp_path / "var-myapp"  # say /var/lib/myapp, handed to the app's user
    theirs.mkdir(mode=0o755)
    os.chown(theirs, NOBODY, NOBODY)
    state = theirs / "gaia"
    state.mkdir(mode=0o700)  # gaia's own and private, but not the way to it
    code, err = up_exit(tmp_path, write_config(tmp_path, state, free_port()))
    assert code == 2, err
    assert f"directory {theirs} is owned by uid {NOBODY}" in err
    assert not (state / "gaia.pid").exists() and not (state / "logs").exists()


def test_state_dir_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    (tmp_path / "state").symlink_to(real)
    code, err = up_exit(tmp_path, write_config(tmp_path, tmp_path / "state", free_port()))
    assert code == 2, err
    assert "symlink" in err


def test_foreign_socket_fallback_dir_is_refused(tmp_path: Path) -> None:
    """A state_dir too deep for unix socket paths puts sockets under $TMPDIR/gaia-UID,
    which another user can create first."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(mode=0o777)
    planted = tmpdir / f"gaia-{os.getuid()}"
    planted.mkdir(mode=0o777)
    os.chown(planted, NOBODY, NOBODY)
    state = tmp_path / ("d" * 60) / ("e" * 60) / "state"
    code, err = up_exit(
        tmp_path, write_config(tmp_path, state, free_port()), env={"TMPDIR": str(tmpdir)}
    )
    assert code == 2, err
    assert str(planted) in err and f"owned by uid {NOBODY}" in err


def test_links_planted_in_state_dir_are_never_written_through(gaia, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    state = tmp_path / "state"
    for sub in ("", "logs", "run"):
        (state / sub).mkdir(mode=0o700, exist_ok=True)
    planted = [
        state / "gaia.pid",
        state / "logs" / "web.log",
        state / "run" / "web.g1.gunicorn.py",
        state / "run" / "web.g1.uvicorn.json",
    ]
    for link in planted:
        link.symlink_to(victim)
    port = free_port()
    g = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.web]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        workers = 1
        """,
        "--no-watch",
    )
    g.wait_for(r"web: .*-> running", timeout=30)
    assert g.stop() == 0
    assert victim.read_text() == "precious\n"
    assert (victim.stat().st_mode & 0o777) == 0o600
    log = state / "logs" / "web.log"
    assert not log.is_symlink() and "hello" not in victim.read_text()
    for sub in ("", "logs", "run"):
        assert (state / sub).stat().st_mode & 0o777 == 0o700


def test_new_state_dir_is_private(gaia, tmp_path: Path) -> None:
    state = tmp_path / "fresh"
    port = free_port()
    g = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.web]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{port}"
        workers = 1
        """,
        "--no-watch",
    )
    g.wait_for(r"web: .*-> running", timeout=30)
    for sub in ("", "logs", "run"):
        assert (state / sub).stat().st_mode & 0o777 == 0o700
    for path in (state / "run").iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert (state / "logs" / "web.log").stat().st_mode & 0o777 == 0o600
    assert g.stop() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_logs_never_reads_a_state_dir_another_user_owns(tmp_path: Path) -> None:
    """Root runs `gaia logs` where another user wrote a gaia.toml naming their directory,
    whose logs/web.log is a link to root's secret: it was printed (and a FIFO there hung)."""
    secret = tmp_path / "secret"
    secret.write_text("2026-12-06T00:00:00.000+00:00 web: root's secret\n")
    secret.chmod(0o600)
    planted = tmp_path / "planted"
    (planted / "logs").mkdir(parents=True)
    (planted / "logs" / "web.log").symlink_to(secret)
    for path in (planted, planted / "logs"):
        os.chown(path, NOBODY, NOBODY)
    config = write_config(tmp_path, planted, free_port())
    done = run_cli("logs", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unsafe state_dir" in done.stderr and "owned by uid 65534" in done.stderr
    assert "secret" not in done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_state_dir_reached_through_another_users_link_creates_nothing(tmp_path: Path) -> None:
    """`state_dir = ~user/st/sub/state` with `~user/st -> /etc`: refused, but only after root
    had made /etc/sub/state."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    elsewhere = tmp_path / "roots"  # stands for /etc
    elsewhere.mkdir()
    (home / "st").symlink_to(elsewhere)
    os.chown(home / "st", NOBODY, NOBODY, follow_symlinks=False)
    config = write_config(tmp_path, home / "st" / "sub" / "state", free_port())
    done = run_cli("up", "--no-tui", "-c", str(config), cwd=tmp_path)
    assert done.returncode != 0 and "state" in done.stderr, done.stdout + done.stderr
    assert list(elsewhere.iterdir()) == []
