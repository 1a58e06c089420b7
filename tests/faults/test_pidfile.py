"""Which gaia runs for a config: one per state dir, found from any shell.

A stale gaia.pid whose pid now belongs to a stranger must never get a signal; two `gaia up`
at once start one gaia; the commands reach it whatever their $TMPDIR, and after state_dir
was edited in gaia.toml while it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from harness import FIXTURES, run_cli, wait_until

from gaia_runner.pidfile import running_gaia

pytestmark = pytest.mark.timeout(90)

CONFIG = """
    [gaia]
    state_dir = "{state}"

    [apps.idle]
    command = ["python", "-c", "import time; time.sleep(120)"]
"""
ROUNDS = 10


@pytest.fixture
def stranger() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], stdin=subprocess.DEVNULL
    )
    yield proc
    proc.kill()
    proc.wait(10)


def records_for(pid: int) -> list[str]:
    """A pid file from an older gaia (bare pid), and ones whose start time does not match."""
    started = psutil.Process(pid).create_time()
    return [f"{pid}\n", f"{pid} {started - 3600!r}\n", f"{pid} {started + 5!r}\n"]


def test_signalling_commands_refuse_a_stranger(tmp_path: Path, stranger) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    config = tmp_path / "gaia.toml"
    config.write_text(textwrap.dedent(CONFIG.format(state=state)))
    for record in records_for(stranger.pid):
        (state / "gaia.pid").write_text(record)
        for command in ("down", "reload"):  # down signals the pid; reload asks the socket
            done = run_cli(command, "-c", str(config), cwd=tmp_path)
            assert done.returncode == 1, done.stderr
            assert "no gaia running for this config" in done.stderr
        with pytest.raises(subprocess.TimeoutExpired):
            stranger.wait(0.3)  # SIGTERM's default action would have ended it by now
        assert psutil.Process(stranger.pid).status() != psutil.STATUS_ZOMBIE


def test_stale_pid_does_not_block_up_and_reload_reaches_the_real_gaia(
    gaia, tmp_path: Path, stranger
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "gaia.pid").write_text(f"{stranger.pid}\n")
    g = gaia(CONFIG.format(state=state), "--no-watch")
    g.wait_for(r"idle: .*-> running", timeout=30)
    mark = g.mark()
    done = run_cli("reload", "-c", str(g.config_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "applied" in done.stdout
    g.wait_for(r"reload plan", timeout=15, start=mark)
    assert stranger.poll() is None
    assert g.stop() == 0
    assert not (state / "gaia.pid").exists()


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True)
    return path


def test_status_from_a_shell_with_another_tmpdir_finds_a_deep_state_dir(
    gaia, tmp_path: Path
) -> None:
    """systemd PrivateTmp, pam_tmpdir: the CLI's $TMPDIR is not gaia's."""
    state = tmp_path / ("d" * 60) / ("e" * 60) / "state"
    assert len(bytes(state / "gaia.sock")) > 108
    gaias_tmp = private_dir(tmp_path / "tmp-of-gaia")
    shells_tmp = private_dir(tmp_path / "tmp-of-the-shell")
    g = gaia(CONFIG.format(state=state), "--no-watch", env={"TMPDIR": str(gaias_tmp)})
    g.wait_for(r"idle: .*-> running", timeout=30)
    assert (state / "gaia.sock").is_socket()
    for tmpdir in (shells_tmp, gaias_tmp):
        env = {"TMPDIR": str(tmpdir)}
        done = run_cli("status", "-c", str(g.config_path), cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert "running" in done.stdout
    env = {"TMPDIR": str(shells_tmp)}
    done = run_cli("stop", "idle", "-c", str(g.config_path), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    done = run_cli("down", "-c", str(g.config_path), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert g.wait(30) == 0
    assert not (state / "gaia.sock").exists() and not (state / "gaia.pid").exists()


def test_after_a_state_dir_edit_the_commands_still_reach_the_running_gaia(
    gaia, tmp_path: Path
) -> None:
    """state_dir applies only when gaia restarts; until then the running gaia is the one
    `status`, `logs`, `down` act on, and a second `up` of the same file is refused."""
    before, after = tmp_path / "state-before", tmp_path / "state-after"
    g = gaia(CONFIG.format(state=before))
    g.wait_for(r"idle: .*-> running", timeout=30)
    mark = g.mark()
    g.config_path.write_text(textwrap.dedent(CONFIG.format(state=after)))
    g.wait_for(r"gaia\.state_dir: cannot change while gaia runs", timeout=15, start=mark)
    config = str(g.config_path)

    done = run_cli("status", "-c", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "running" in done.stdout
    assert f"uses state_dir {before}" in done.stderr and str(after) in done.stderr

    done = run_cli("logs", "-n", "50", "-c", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot change while gaia runs" in done.stdout

    again = run_cli("up", "--no-tui", "-c", config, cwd=tmp_path)
    assert again.returncode == 2, again.stderr
    assert f"already running for {config} (pid {g.pid}" in again.stderr
    assert not after.exists()  # a refused `up` leaves nothing behind

    done = run_cli("down", "-c", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"gaia (pid {g.pid}) stopped" in done.stdout
    assert g.wait(30) == 0
    # Once it has stopped, the file's state_dir is the one: nothing runs there.
    done = run_cli("status", "-c", config, cwd=tmp_path)
    assert done.returncode == 1, done.stderr


def write_config(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    config = tmp_path / "gaia.toml"
    config.write_text(textwrap.dedent(CONFIG.format(state=state)))
    return config, state


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gaia_runner", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(FIXTURES)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def gaias_for(config: Path) -> list[psutil.Process]:
    """Every gaia (foreground or detached) running this config file."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "gaia_runner" in cmdline and "up" in cmdline and str(config) in cmdline:
            found.append(proc)
    return found


def tree_of(pid: int) -> list[psutil.Process]:
    return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]


@pytest.mark.timeout(400)
def test_two_detached_ups_at_once_start_exactly_one_gaia(tmp_path: Path) -> None:
    config, state = write_config(tmp_path)
    try:
        for round_ in range(ROUNDS):
            ups = [start_cli("up", "-d", "--wait", "60", "-c", str(config), cwd=tmp_path)]
            ups.append(start_cli("up", "-d", "--wait", "60", "-c", str(config), cwd=tmp_path))
            outs = [up.communicate(timeout=90) for up in ups]
            codes = [up.returncode for up in ups]
            where = f"round {round_}: exit codes {codes}, stderr {[err for _, err in outs]}"
            assert sorted(codes) == [0, 2], where
            loser = outs[codes.index(2)][1]
            # Refused by the lock, or (when the winner took the lock first) by the check
            # that finds a gaia running this config: either names the running gaia.
            assert "gaia is already running for" in loser, where
            running = wait_until(lambda: gaias_for(config), 10, "a gaia")
            assert isinstance(running, list)
            assert len(gaias_for(config)) == 1, where
            assert running_gaia(state / "gaia.pid") == running[0].pid, where
            done = run_cli("down", "-c", str(config), cwd=tmp_path, timeout=60)
            assert done.returncode == 0, f"{where}; down: {done.stderr}"
            wait_until(lambda: not gaias_for(config), 30, "gaia gone")
            assert not (state / "gaia.pid").exists(), where
    finally:
        for proc in gaias_for(config):  # a failed round must not leave gaias running
            for member in tree_of(proc.pid):
                member.kill()


@pytest.mark.timeout(180)
def test_a_sigkilled_gaias_stale_record_is_taken_over(tmp_path: Path) -> None:
    config, state = write_config(tmp_path)
    done = run_cli("up", "-d", "--wait", "60", "-c", str(config), cwd=tmp_path, timeout=90)
    assert done.returncode == 0, done.stderr
    first = running_gaia(state / "gaia.pid")
    assert first is not None
    tree = tree_of(first)
    os.kill(first, signal.SIGKILL)
    for member in tree[1:]:  # its apps: gaia could not stop them, nor will anyone else
        member.kill()
    psutil.wait_procs(tree, timeout=15)
    assert (state / "gaia.pid").exists() and (state / "gaia.sock").exists()  # stale

    done = run_cli("up", "-d", "--wait", "60", "-c", str(config), cwd=tmp_path, timeout=90)
    assert done.returncode == 0, done.stderr
    second = running_gaia(state / "gaia.pid")
    assert second is not None and second != first
    status = run_cli("status", "-c", str(config), cwd=tmp_path)
    assert status.returncode == 0 and "running" in status.stdout, status.stderr
    done = run_cli("down", "-c", str(config), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"gaia (pid {second}) stopped" in done.stdout
    assert not (state / "gaia.pid").exists()
