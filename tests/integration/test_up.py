"""`gaia up` end to end: real gaia, real gunicorn/uvicorn, real sockets and signals."""

from __future__ import annotations

import shutil
import signal
import ssl
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from harness import free_port, http_get, make_self_signed, try_get, wait_until

ROOT = Path(__file__).resolve().parents[2]


def workers_of(master_pid: int) -> list[psutil.Process]:
    """The master's workers alive right now: a worker that exits between the listing and the
    look at its command line (a roll, a recycle) is not one of them."""
    workers = []
    for child in psutil.Process(master_pid).children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.NoSuchProcess:
            continue
    return workers


def app_master(gaia_pid: int, name: str) -> psutil.Process:
    """The process gaia started for `name` (its GAIA_APP env tells)."""

    def find() -> psutil.Process | None:
        for child in psutil.Process(gaia_pid).children():
            try:
                if child.environ().get("GAIA_APP") == name:
                    return child
            except psutil.Error:
                continue
        return None

    found = wait_until(find, 15, f"the {name} master process")
    assert isinstance(found, psutil.Process)
    return found


def tree_pids(gaia_pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(gaia_pid).children(recursive=True)}


def test_root_config_serves_every_app(gaia, tmp_path: Path) -> None:
    web, wsgi = free_port(), free_port()
    text = (ROOT / "gaia.toml").read_text()
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{web}").replace(
        "127.0.0.1:8001", f"127.0.0.1:{wsgi}"
    )
    text = text.replace('cwd = "examples/', f'cwd = "{ROOT}/examples/')
    text = text.replace('state_dir = ".gaia"', f'state_dir = "{tmp_path}/.gaia"')
    text = text.replace("../../.gaia/notes.sqlite3", f"{tmp_path}/notes.sqlite3")
    g = gaia(text)
    assert wait_until(lambda: try_get(web, "/") and try_get(wsgi, "/"), 15, "both examples")
    status, body = http_get(web, "/")
    assert status == 200 and "migrated by a prestart step" in body
    assert http_get(wsgi, "/")[0] == 200
    g.wait_for(r"web:prestart \| migrations applied")
    web_master = app_master(g.pid, "web")
    wait_until(lambda: len(workers_of(web_master.pid)) == 2, 10, "2 web workers")
    wsgi_master = app_master(g.pid, "wsgi")
    wait_until(lambda: len(workers_of(wsgi_master.pid)) == 2, 10, "2 wsgi workers")
    g.wait_for(r"web: .*-> running")
    assert g.stop() == 0


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_worker_count_matches_config(gaia, server: str) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.api]
        app = "hello:app"
        server = "{server}"
        workers = 3
        bind = "127.0.0.1:{port}"
    """)
    wait_until(lambda: try_get(port), 20, "first answer")
    master = app_master(g.pid, "api")
    wait_until(lambda: len(workers_of(master.pid)) == 3, 15, "3 workers")
    pids = {http_get(port, "/pid")[1] for _ in range(30)}
    assert pids <= {str(w.pid) for w in workers_of(master.pid)}
    assert len(workers_of(master.pid)) == 3
    assert g.stop() == 0


def test_wsgi_app_with_sync_workers(gaia) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.legacy]
        app = "wsgi_hello:application"
        worker_class = "sync"
        workers = 2
        bind = "127.0.0.1:{port}"
    """)
    status, body = wait_until(lambda: try_get(port), 20, "the WSGI app")  # type: ignore[misc]
    assert status == 200 and body.startswith("wsgi hello")
    assert g.stop() == 0


def test_sigterm_stops_every_process_gracefully(gaia) -> None:
    port, port2 = free_port(), free_port()
    g = gaia(f"""
        [gaia]
        stop_timeout = "5s"

        [apps.a]
        app = "hello:app"
        workers = 2
        bind = "127.0.0.1:{port}"

        [apps.b]
        app = "hello:app"
        server = "uvicorn"
        workers = 2
        bind = "127.0.0.1:{port2}"

        [apps.job]
        command = ["python", "-c", "import time\\nwhile True: time.sleep(1)"]
        workers = 2
    """)
    wait_until(lambda: try_get(port) and try_get(port2), 20, "both apps")
    g.wait_for(r"job: .*-> running")
    pids = tree_pids(g.pid)
    assert len(pids) >= 2 + 2 + 2 + 2
    g.signal(signal.SIGTERM)
    assert g.wait(5 + 1 + 1) == 0
    wait_until(lambda: not any(psutil.pid_exists(p) for p in pids), 1, "every app process gone")


def test_sigkill_to_gaia_leaves_no_app_alive(gaia) -> None:
    port, port2 = free_port(), free_port()
    g = gaia(f"""
        [apps.a]
        app = "hello:app"
        workers = 2
        bind = "127.0.0.1:{port}"

        [apps.b]
        app = "hello:app"
        server = "uvicorn"
        workers = 2
        bind = "127.0.0.1:{port2}"
    """)
    wait_until(lambda: try_get(port) and try_get(port2), 20, "both apps")
    app_master(g.pid, "b")
    wait_until(lambda: len(tree_pids(g.pid)) >= 1 + 2 + 1 + 2, 10, "all workers")
    pids = tree_pids(g.pid)
    g.signal(signal.SIGKILL)
    g.wait(5)

    def alive() -> list[int]:
        out = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out

    wait_until(lambda: not alive(), 2, "no app process left")
    assert try_get(port, timeout=0.5) is None


def test_prestart_failure_fails_only_that_app(gaia) -> None:
    good, bad = free_port(), free_port()
    g = gaia(f"""
        [apps.good]
        app = "hello:app"
        bind = "127.0.0.1:{good}"

        [apps.bad]
        app = "hello:app"
        bind = "127.0.0.1:{bad}"
        prestart = ["python -c 'print(\\"step one ok\\")'", ["python", "-c", "import sys; print('migration exploded'); sys.exit(3)"]]
        retry_prestart = false
    """)
    g.wait_for(r"bad:prestart \| migration exploded")
    g.wait_for(r"bad: prestart -> failed: prestart .* failed: exit code 3")
    wait_until(lambda: try_get(good), 20, "the good app")
    assert try_get(bad, timeout=0.5) is None
    assert g.stop() == 0


def test_prestart_timeout(gaia) -> None:
    port = free_port()
    g = gaia(f"""
        [apps.slow]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        prestart = [["python", "-c", "import time; time.sleep(60)"]]
        prestart_timeout = "500ms"
        retry_prestart = false
    """)
    g.wait_for(r"slow: prestart -> failed: prestart .* timed out after 0.5s")
    assert g.stop() == 0


def test_two_gunicorn_apps_do_not_interfere(gaia, tmp_path: Path) -> None:
    a, b = free_port(), free_port()
    g = gaia(f"""
        [apps.one]
        app = "hello:app"
        workers = 2
        bind = "127.0.0.1:{a}"
        env = {{ APP_VERSION = "one" }}

        [apps.two]
        app = "hello:app"
        workers = 2
        bind = "127.0.0.1:{b}"
        env = {{ APP_VERSION = "two" }}
    """)
    wait_until(lambda: try_get(a) and try_get(b), 20, "both apps")
    assert http_get(a)[1].startswith("hello one")
    assert http_get(b)[1].startswith("hello two")
    run = tmp_path / ".gaia" / "run"

    def controls() -> list[str]:
        return sorted(p.name for p in run.iterdir() if p.suffix == ".ctl")

    wait_until(lambda: controls() == ["one.g1.ctl", "two.g1.ctl"], 10, "two control sockets")
    logs = tmp_path / ".gaia" / "logs"
    wait_until(lambda: "Booting worker" in (logs / "one.log").read_text(), 5, "one.log")
    assert "Booting worker" in (logs / "two.log").read_text()
    one_lines = (logs / "one.log").read_text().splitlines()
    listening = {line for line in one_lines if "Listening at" in line}
    assert listening and not listening & set((logs / "two.log").read_text().splitlines())
    assert g.stop() == 0


def test_taken_bind_is_reported_before_anything_starts(gaia, tmp_path: Path) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    free = free_port()
    try:
        g = gaia(f"""
            [apps.free]
            app = "hello:app"
            bind = "127.0.0.1:{free}"

            [apps.clash]
            app = "hello:app"
            bind = "127.0.0.1:{taken}"
        """)
        assert g.run_to_end() == 2
        out = g.output()
        assert f"127.0.0.1:{taken}" in out and "already in use" in out and "clash" in out
        assert try_get(free, timeout=0.3) is None
    finally:
        holder.close()


def test_https_is_served_and_shown(gaia, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    make_self_signed(tmp_path)
    ports = {"gunicorn": free_port(), "uvicorn": free_port()}
    g = gaia(f"""
        [apps.tls-g]
        app = "hello:app"
        bind = "127.0.0.1:{ports["gunicorn"]}"
        https = {{ certfile = "cert.pem", keyfile = "key.pem" }}

        [apps.tls-u]
        app = "hello:app"
        server = "uvicorn"
        bind = "127.0.0.1:{ports["uvicorn"]}"
        https = {{ certfile = "cert.pem", keyfile = "key.pem" }}
    """)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    ctx.check_hostname = False

    def fetch(port: int) -> str | None:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx, timeout=2) as r:
                return r.read().decode()
        except OSError:
            return None

    for port in ports.values():
        assert str(wait_until(lambda p=port: fetch(p), 20, "https")).startswith("hello")
    g.wait_for(rf"https://127.0.0.1:{ports['gunicorn']}")
    assert g.stop() == 0


def test_start_a_subset(gaia) -> None:
    a, b = free_port(), free_port()
    g = gaia(
        f"""
        [apps.a]
        app = "hello:app"
        bind = "127.0.0.1:{a}"

        [apps.b]
        app = "hello:app"
        bind = "127.0.0.1:{b}"
    """,
        "b",
    )
    wait_until(lambda: try_get(b), 20, "b")
    assert try_get(a, timeout=0.3) is None
    assert g.stop() == 0


def test_children_find_the_venv_bin_on_path(gaia, tmp_path: Path) -> None:
    g = gaia(
        """
        [apps.which]
        command = ["sh", "-c", "command -v python; command -v gunicorn; sleep 30"]
    """,
        env={"PATH": "/usr/bin:/bin"},
    )
    match = g.wait_for(r"which \| (/.*)/gunicorn$")
    assert match.group(1) == str(Path(sys.executable).parent)
    assert g.stop() == 0


NOISY = """
import sys, time
out = sys.stdout.buffer
out.write(b"bad bytes \\xff\\xfe end\\n")
for i in range(3):
    out.write(b"x" * 50000)
    out.flush()
    time.sleep(0.05)
out.write(b"\\nlast words\\n")
out.flush()
sys.exit(7)
"""


def test_output_lines_are_whole_and_bad_bytes_are_harmless(gaia, tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(NOISY)
    g = gaia("""
        [apps.noisy]
        command = "python noisy.py"
        restart = "never"
    """)
    g.wait_for(r"noisy: .*-> failed: exit code 7 \(restart = never\)", timeout=15)
    log = (tmp_path / ".gaia" / "logs" / "noisy.log").read_text()
    # Each line starts with its ISO 8601 timestamp and a space.
    lines = [line.split(" ", 1)[1] for line in log.splitlines()]
    assert "bad bytes \ufffd\ufffd end" in lines
    assert "x" * 150000 in lines  # one line, though written in three pieces
    assert lines[-1] == "last words"
    assert g.stop() == 0


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_access_log_is_off_unless_asked(gaia, server: str) -> None:
    quiet, loud = free_port(), free_port()
    g = gaia(f"""
        [apps.quiet]
        app = "hello:app"
        server = "{server}"
        bind = "127.0.0.1:{quiet}"

        [apps.loud]
        app = "hello:app"
        server = "{server}"
        bind = "127.0.0.1:{loud}"
        access_log = true
    """)
    wait_until(lambda: try_get(quiet) and try_get(loud), 20, "both apps")
    http_get(loud, "/pid?loud-marker")
    http_get(quiet, "/pid?quiet-marker")
    g.wait_for(r"loud \| .*GET /pid\?loud-marker")
    assert "quiet-marker" not in g.output()
    assert g.stop() == 0
