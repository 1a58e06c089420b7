"""The real nginx in front of a gaia app, configured with the docs/export.md recipe (its
`map` lines and its `location / { ... }`), so the documented setup is the tested one."""

from __future__ import annotations

import contextlib
import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from harness import wait_until

README = Path(__file__).parents[2] / "docs" / "export.md"

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx)"
)


def worker_account() -> tuple[str, str]:
    """An unprivileged user (and group) for nginx's workers, as a packaged nginx uses."""
    for user, group in (("www-data", "www-data"), ("nobody", "nogroup"), ("nobody", "nobody")):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            grp.getgrnam(group)
            return user, group
    pytest.skip("no unprivileged account for nginx workers")


def readme_recipe() -> dict[str, str]:
    """The http-level lines and the `location / {...}` block of docs/export.md's nginx example."""
    text = README.read_text()
    section = text[text.index("## Behind a proxy") :]
    block = section[section.index("```nginx") : section.index("```", section.index("```nginx") + 3)]
    http_level = "\n".join(line for line in block.splitlines() if line.startswith("map "))
    location = re.search(r"^    location / \{$.*?^    \}$", block, re.S | re.M)
    assert location is not None, "docs/export.md's nginx example has no `location / { ... }`"
    # The test's upstream is `app`; a plain-HTTP listener stands in for the TLS server block.
    body = location.group(0).replace("http://mysite", "http://app").replace("$scheme", "https")
    return {"http_level": http_level, "location": body}


NGINX_CONF = """
worker_processes 1;
{user}
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
env GAIA_TEST_RUN;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    {http_level}
    upstream app {{ server unix:{socket}; }}
    server {{
        listen 127.0.0.1:{port};
    {location}
    }}
}}
"""


@contextlib.contextmanager
def nginx_proxy(upstream: Path, workdir: Path) -> Iterator[int]:
    """The real nginx on a free loopback port, proxying to `upstream`; stopped on exit."""
    from harness import free_port

    assert NGINX is not None
    user, group = worker_account()
    port = free_port()
    conf_dir = workdir / "nginx"
    conf_dir.mkdir()
    as_root = f"user {user} {group};" if os.geteuid() == 0 else ""
    conf = conf_dir / "nginx.conf"
    recipe = readme_recipe()
    conf.write_text(
        NGINX_CONF.format(user=as_root, dir=conf_dir, socket=upstream, port=port, **recipe)
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(conf_dir), "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def listening() -> bool:
            assert proc.poll() is None, (conf_dir / "error.log").read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, 10, "nginx listening")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A directory nginx's workers can traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="gaia-sock-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def get_via(
    port: int, path: str = "/", headers: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """A request from 127.0.0.2, so "the real client address" differs from nginx's own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=("127.0.0.2", 0))
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()
