"""Edit gaia.toml (or the code, in dev mode) while traffic flows: nothing may fail."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from harness import FIXTURES, free_port, http_get, make_self_signed, try_get, wait_until
from load import SteadyLoad
from test_up import app_master, workers_of

BASE = """
    [gaia]
    stop_timeout = "10s"

    [apps.api]
    app = "hello:app"
    server = "{server}"
    workers = {workers}
    bind = "127.0.0.1:{port}"
    env = {{ APP_VERSION = "{version}" }}
    {extra}
"""


def config(
    port: int, server: str = "gunicorn", workers: int = 2, version: str = "v1", extra: str = ""
) -> str:
    return BASE.format(port=port, server=server, workers=workers, version=version, extra=extra)


def save_atomically(path: Path, text: str) -> None:
    """What editors do: write a temp file, then rename it over the original."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    tmp.replace(path)


def start(gaia, port: int, **kw: object):  # type: ignore[no-untyped-def]
    g = gaia(config(port, **kw))  # type: ignore[arg-type]
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"api: starting -> running")
    return g


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_scale_in_place_under_load(gaia, server: str) -> None:
    port = free_port()
    g = start(gaia, port, server=server)
    master = app_master(g.pid, "api")
    wait_until(lambda: len(workers_of(master.pid)) == 2, 10, "2 workers")
    with SteadyLoad(port, rate=200, duration=6) as load:
        time.sleep(1)
        save_atomically(g.config_path, config(port, server=server, workers=3))
        g.wait_for(r"reload plan: api: scale 2->3")
        wait_until(lambda: len(workers_of(master.pid)) == 3, 10, "3 workers")
        load.end_after(1.0)
    assert load.result.failed == 0, load.result.errors[:5]
    assert app_master(g.pid, "api").pid == master.pid
    assert g.stop() == 0


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"version": "v2"}, "hello v2"),
        ({"server": "uvicorn"}, "hello v1"),
    ],
    ids=["env", "gunicorn-to-uvicorn"],
)
def test_replace_without_dropping_a_request(gaia, change: dict[str, str], expect: str) -> None:
    port = free_port()
    g = start(gaia, port)
    old_master = app_master(g.pid, "api").pid
    with SteadyLoad(port, rate=200, duration=7) as load:
        time.sleep(1)
        save_atomically(g.config_path, config(port, **change))  # type: ignore[arg-type]
        g.wait_for(r"reload plan: api: replace")
        g.wait_for(r"api: generation 2 serving", timeout=20)
    assert load.result.failed == 0, load.result.errors[:5]
    wait_until(lambda: http_get(port)[1].startswith(expect), 10, "the new generation only")
    wait_until(lambda: app_master(g.pid, "api").pid != old_master, 10, "old master gone")
    assert g.stop() == 0


def test_invalid_edit_changes_nothing_until_fixed(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api").pid
    wait_until(lambda: len(workers_of(master)) == 2, 10, "2 workers")
    workers = sorted(w.pid for w in workers_of(master))
    with SteadyLoad(port, rate=200, duration=6) as load:
        time.sleep(0.5)
        save_atomically(g.config_path, config(port).replace("workers = 2", "workers = 0"))
        g.wait_for(r"gaia.toml not applied")
        g.wait_for(r"gaia.toml:\d+: apps\.api\.workers")
        assert app_master(g.pid, "api").pid == master
        assert sorted(w.pid for w in workers_of(master)) == workers
        save_atomically(g.config_path, config(port, version="v3"))
        g.wait_for(r"valid again")
        g.wait_for(r"api: generation 2 serving", timeout=20)
    assert load.result.failed == 0, load.result.errors[:5]
    wait_until(lambda: http_get(port)[1].startswith("hello v3"), 10, "the new generation only")
    assert g.stop() == 0


def test_saves_are_debounced_and_touches_ignored(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    path = g.config_path
    mark = g.mark()
    save_atomically(path, config(port, version="a"))
    g.wait_for(r"reload plan", start=mark)
    g.wait_for(r"api: generation 2 serving", start=mark, timeout=20)
    mark = g.mark()
    for i in range(5):
        path.write_text(config(port, version=f"burst{i}"))
        time.sleep(0.15)
    g.wait_for(r"api: generation 3 serving", start=mark, timeout=20)
    mark2 = g.mark()
    path.touch()
    save_atomically(path, path.read_text())
    # A reload would print its plan within the debounce time; give it three times that.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        time.sleep(0.05)
    lines = g.lines[mark:]
    assert sum("reload plan" in line for line in lines) == 1, "\n".join(lines)
    assert not any("reload plan" in line for line in g.lines[mark2:])
    wait_until(lambda: http_get(port)[1].startswith("hello burst4"), 10, "the last burst")
    assert g.stop() == 0


def test_failed_replacement_keeps_the_old_generation(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api").pid
    bad_prestart = 'prestart = [["python", "-c", "raise SystemExit(5)"]]'
    save_atomically(g.config_path, config(port, version="v2", extra=bad_prestart))
    g.wait_for(r"still serving the previous version", timeout=20)
    assert http_get(port)[1].startswith("hello v1")
    mark = g.mark()
    save_atomically(g.config_path, config(port, version="v3").replace("hello:app", "broken:app"))
    g.wait_for(r"still serving the previous version", start=mark, timeout=30)
    assert http_get(port)[1].startswith("hello v1")
    assert app_master(g.pid, "api").pid == master
    assert g.stop() == 0


def test_added_and_removed_apps(gaia) -> None:
    port, other = free_port(), free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api").pid
    added = (
        config(port)
        + f"""
    [apps.extra]
    app = "hello:app"
    bind = "127.0.0.1:{other}"
    """
    )
    save_atomically(g.config_path, added)
    wait_until(lambda: try_get(other), 20, "the added app")
    save_atomically(g.config_path, config(port))
    g.wait_for(r"extra: .*-> stopped", timeout=20)
    wait_until(lambda: try_get(other, timeout=0.3) is None, 5, "the removed app's port closed")
    assert try_get(port) is not None
    assert app_master(g.pid, "api").pid == master  # untouched by both edits
    assert g.stop() == 0


def test_dev_mode_follows_code_edits(gaia, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "hello.py", src / "hello.py")
    port = free_port()
    g = gaia(
        f"""
        [apps.dev]
        app = "hello:app"
        server = "uvicorn"
        workers = 4
        bind = "127.0.0.1:{port}"
        cwd = "src"
        """,
        "--dev",
        env={"PYTHONPATH": ""},
    )
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"dev: starting -> running")
    master = app_master(g.pid, "dev")
    assert len(workers_of(master.pid)) == 1  # dev mode runs one worker
    code = (src / "hello.py").read_text()
    with SteadyLoad(port, rate=100, duration=5) as load:
        time.sleep(0.5)
        (src / "hello.py").write_text(code.replace('f"hello {VERSION}', 'f"edited {VERSION}'))
        wait_until(lambda: (r := try_get(port)) and r[1].startswith("edited"), 10, "new code")
    assert load.result.failed == 0, load.result.errors[:5]
    mark = g.mark()
    (src / "hello.py").write_text(code + "\ndef broken(:\n")
    g.wait_for(r"SyntaxError", start=mark, timeout=15)
    g.wait_for(r"still serving the previous version", start=mark, timeout=15)
    assert http_get(port)[1].startswith("edited")
    assert g.stop() == 0


def _served_cn(port: int) -> str | None:
    import socket
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            ctx.wrap_socket(raw) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError:
        return None
    assert der is not None
    return "renewed" if b"renewed" in der else "first"


def test_renewed_certificate_is_picked_up(gaia, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    make_self_signed(tmp_path, "first")
    port = free_port()
    g = gaia(f"""
        [apps.tls]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        https = {{ certfile = "cert.pem", keyfile = "key.pem" }}
    """)
    wait_until(lambda: _served_cn(port) == "first", 20, "the first certificate")
    make_self_signed(tmp_path, "renewed")
    g.wait_for(r"reload plan: tls: roll workers \(TLS files changed\)", timeout=15)
    wait_until(lambda: _served_cn(port) == "renewed", 20, "the renewed certificate")
    assert g.stop() == 0


def test_sighup_and_gaia_reload_trigger_a_reload(gaia) -> None:
    import signal
    import subprocess
    import sys

    port = free_port()
    g = gaia(config(port), "--no-watch")
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"api: starting -> running")
    g.config_path.write_text(config(port, version="hup"))
    # --no-watch: the file changed, but only the signal below makes gaia read it.
    g.signal(signal.SIGHUP)
    g.wait_for(r"api: generation 2 serving", timeout=20)
    wait_until(lambda: http_get(port)[1].startswith("hello hup"), 10, "the new generation only")
    g.config_path.write_text(config(port, version="cli"))
    subprocess.run(
        [sys.executable, "-m", "gaia_runner", "reload", "-c", str(g.config_path)],
        check=True,
        timeout=20,
        capture_output=True,
    )
    g.wait_for(r"api: generation 3 serving", timeout=20)
    wait_until(lambda: http_get(port)[1].startswith("hello cli"), 10, "the new generation only")
    assert g.stop() == 0


def _unix_get(path: Path) -> str | None:
    import socket

    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(3)
            s.connect(str(path))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    return data.decode(errors="replace").split("\r\n\r\n", 1)[-1]


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_unix_socket_survives_a_replacement(gaia, server: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gaia-") as short:
        sock = Path(short) / "app.sock"
        text = """
            [apps.unix]
            app = "hello:app"
            server = "{server}"
            bind = "unix:{sock}"
            env = {{ APP_VERSION = "{version}" }}
        """
        g = gaia(text.format(server=server, sock=sock, version="v1"))
        wait_until(lambda: (_unix_get(sock) or "").startswith("hello v1"), 20, "unix answer")
        g.wait_for(r"unix: starting -> running")
        save_atomically(
            g.config_path,
            __import__("textwrap").dedent(text.format(server=server, sock=sock, version="v2")),
        )
        g.wait_for(r"unix: generation 2 serving", timeout=20)
        g.wait_for(r"unix: .*stopping generation 1")
        wait_until(lambda: (_unix_get(sock) or "").startswith("hello v2"), 10, "v2 over unix")
        # The old master is gone by now; the socket file must still be there and served.
        wait_until(lambda: len(app_masters(g.pid, "unix")) == 1, 15, "one master left")
        assert sock.exists()
        assert (_unix_get(sock) or "").startswith("hello v2")
        assert g.stop() == 0
        assert not sock.exists()


def app_masters(gaia_pid: int, name: str) -> list[int]:
    import psutil

    found = []
    for child in psutil.Process(gaia_pid).children():
        try:
            if child.environ().get("GAIA_APP") == name:
                found.append(child.pid)
        except psutil.Error:
            continue
    return found


def test_bind_change_moves_the_app(gaia) -> None:
    old, new = free_port(), free_port()
    g = start(gaia, old)
    save_atomically(g.config_path, config(new))
    g.wait_for(r"reload plan: api: replace \(bind changed\)")
    wait_until(lambda: try_get(new), 20, "the new port")
    wait_until(lambda: try_get(old, timeout=0.3) is None, 15, "the old port closed")
    assert g.stop() == 0


def test_bind_change_to_a_taken_port_keeps_the_old_config(gaia) -> None:
    import socket

    port = free_port()
    g = start(gaia, port)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        save_atomically(g.config_path, config(taken))
        g.wait_for(r"not applied")
        g.wait_for(rf"127.0.0.1:{taken}.*already in use")
        assert try_get(port) is not None
    assert g.stop() == 0


def test_fixing_the_config_leaves_fatal(gaia) -> None:
    port = free_port()
    broken = config(port).replace("hello:app", "broken:app") + "    max_start_failures = 1\n"
    g = gaia(broken)
    g.wait_for(r"api: .*-> fatal", timeout=30)
    save_atomically(g.config_path, config(port))
    g.wait_for(r"api: starting -> running", timeout=30)
    assert try_get(port) is not None
    assert g.stop() == 0


def test_env_file_edit_replaces_the_app(gaia, tmp_path: Path) -> None:
    port = free_port()
    env_file = tmp_path / "web.env"
    env_file.write_text("APP_VERSION=from-file-1\n")
    g = gaia(f"""
        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        env_file = "web.env"
    """)
    wait_until(lambda: (r := try_get(port)) and r[1].startswith("hello from-file-1"), 20, "v1")
    save_atomically(env_file, "APP_VERSION=from-file-2\n")
    g.wait_for(r"reload plan: api: replace \(env changed\)", timeout=15)
    wait_until(lambda: http_get(port)[1].startswith("hello from-file-2"), 20, "v2")
    assert "from-file-2" not in g.output()  # env values are never printed
    assert g.stop() == 0


def test_sigterm_during_a_replacement_stops_promptly(gaia) -> None:
    import signal

    port = free_port()
    g = start(gaia, port)
    slow = 'prestart = [["python", "-c", "import time; time.sleep(60)"]]'
    save_atomically(g.config_path, config(port, version="v2", extra=slow))
    g.wait_for(r"api: starting generation 2")
    g.signal(signal.SIGTERM)
    assert g.wait(10 + 1) == 0
