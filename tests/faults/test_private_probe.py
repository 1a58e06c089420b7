"""The private probe path must not let anyone reach an app who could not before."""

from __future__ import annotations

import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import psutil
import pytest
from harness import free_port, wait_until

pytestmark = pytest.mark.timeout(120)

SERVERS = ["gunicorn", "uvicorn"]


def tcp_listeners(root: int) -> list[tuple[int, object]]:
    found = []
    tree = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    for proc in tree:
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.append((proc.pid, conn.laddr))
        except psutil.NoSuchProcess:
            continue
    return found


def app_processes(root: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(root).children(recursive=True) if p.is_running()]


@pytest.mark.parametrize("server", SERVERS)
def test_unix_only_app_has_no_tcp_listener(gaia, tmp_path: Path, server: str) -> None:
    state = tmp_path / "state"
    public = tmp_path / "app.sock"
    g = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.web]
        app = "hello:app"
        server = "{server}"
        bind = "unix:{public}"
        workers = 1
        health = {{ path = "/", interval = "300ms", timeout = "1s", failures = 2 }}
        """,
        "--no-watch",
    )
    g.wait_for(r"web: .*-> running", timeout=40)
    wait_until(lambda: len(app_processes(g.pid)) >= 2, 20, "the server's worker")
    assert tcp_listeners(g.pid) == []
    probes = list((state / "run").glob("web.g*.probe.sock"))
    assert probes, list((state / "run").iterdir())
    for probe in probes:
        assert stat.S_ISSOCK(probe.lstat().st_mode)
        assert stat.S_IMODE(probe.lstat().st_mode) == 0o600
    assert stat.S_IMODE((state / "run").stat().st_mode) == 0o700
    # RUNNING needed a healthy answer through the unix probe; the periodic checks that
    # follow (every 300ms) go the same way and keep passing.
    with pytest.raises(AssertionError):
        g.wait_for(r"web: .*(health check|-> stopping)", timeout=2.0, start=g.mark())
    assert g.stop() == 0


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """A CA, a server certificate and a client certificate signed by it."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=test CA", cwd=d)  # fmt: skip
    for who, cn in (("server", "localhost"), ("client", "a client")):
        openssl("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={cn}",
                cwd=d)  # fmt: skip
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{who}.pem", "-days", "1", cwd=d)  # fmt: skip


def get(port: int, ctx: ssl.SSLContext) -> str:
    import urllib.request

    with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx, timeout=5) as r:
        return str(r.read().decode())


@pytest.mark.parametrize("server", SERVERS)
def test_required_client_auth_app_becomes_running(gaia, tmp_path: Path, server: str) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    make_pki(tmp_path)
    state = tmp_path / "state"
    port = free_port()
    g = gaia(
        f"""
        [gaia]
        state_dir = "{state}"

        [apps.mtls]
        app = "hello:app"
        server = "{server}"
        bind = "127.0.0.1:{port}"
        workers = 1
        health = {{ path = "/", interval = "300ms", timeout = "2s", failures = 2 }}
        https = {{ certfile = "server.pem", keyfile = "server.key", ca_certs = "ca.pem", client_auth = "required" }}
        """,
        "--no-watch",
    )
    g.wait_for(r"mtls: .*-> running", timeout=40)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    ctx.check_hostname = False
    with pytest.raises((ssl.SSLError, OSError)):
        get(port, ctx)  # no client certificate: still refused, the probe widened nothing
    ctx.load_cert_chain(tmp_path / "client.pem", tmp_path / "client.key")
    assert get(port, ctx).startswith("hello")
    # gaia's probe key never stays on disk; the trust bundle holds certificates only.
    for path in (state / "run").iterdir():
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    assert g.stop() == 0
