"""The wait in front of the workers from the proxy's X-Request-Start: recorded behind the
README's nginx recipe, never from a client that writes the header itself."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from harness import free_port, http_get, run_cli, wait_until
from nginx import get_via, needs_nginx, nginx_proxy


def requests_status(g) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The first app's `requests` object in `gaia status --json`; empty until there is one."""
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=g.workdir)
    apps = json.loads(done.stdout)["apps"] if done.returncode == 0 else []
    return dict(apps[0].get("requests") or {}) if apps else {}


@needs_nginx
@pytest.mark.timeout(120)
def test_requests_queued_behind_nginx_show_their_wait(gaia, socket_dir: Path) -> None:
    """One sync worker taking 100 ms a request: twelve at once through nginx wait for it,
    which the app's own latency (100 ms each) does not show and the wait does; Prometheus
    has each wait in gaia_request_queue_seconds."""
    sock = socket_dir / "web.sock"
    metrics = free_port()
    g = gaia(
        f'[gaia]\nmetrics = "127.0.0.1:{metrics}"\n\n'
        f'[apps.web]\napp = "sleepy_wsgi:application"\nworker_class = "sync"\n'
        f'workers = 1\nbind = "unix:{sock}"\n'
    )
    g.wait_for(r"web: starting -> running", timeout=30)
    with nginx_proxy(sock, g.workdir) as port:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda _: get_via(port, "/")[0], range(12)))
        assert answers == [200] * 12

        def waited() -> float:
            return float(requests_status(g).get("wait_p99_seconds") or 0.0)

        # The last of twelve waited for eleven before it: about 1.1 s.
        wait_until(lambda: waited() >= 0.3, 20, "the wait before the worker in the status")
        assert requests_status(g)["wait_p50_seconds"] > 0
        status, text = http_get(metrics, "/metrics")
        assert status == 200
        assert 'gaia_request_queue_seconds_count{app="web"} 12.0' in text.splitlines()
        # The app's own latency stays about its 100 ms: the wait was outside it.
        assert requests_status(g)["p99_seconds"] < 0.5
    assert g.stop() == 0


SERVERS = {
    "gunicorn-sync": ('worker_class = "sync"', "wsgi_hello:application"),
    "uvicorn": ('server = "uvicorn"', "hello:app"),
    "gunicorn-asgi-worker": ('worker_class = "asgi"', "hello:app"),
    # Its ProxyHeadersMiddleware sits outside gaia's middleware: the peer is noted before it.
    "gunicorn-uvicorn-worker": ('worker_class = "uvicorn"', "hello:app"),
}


def stamped_get(port: int, source: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", "/", headers={"Connection": "close", **headers})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", list(SERVERS))
def test_a_client_stamping_the_header_itself_records_nothing(gaia, kind: str) -> None:
    """From 127.0.0.2, outside forwarded_allow_ips, a stamp 5 s old is ignored; the same
    stamp from the trusted proxy's address (naming another client in X-Forwarded-For,
    as a proxy does) is the wait."""
    setting, target = SERVERS[kind]
    web = free_port()
    g = gaia(
        f'[apps.web]\napp = "{target}"\n{setting}\nbind = "127.0.0.1:{web}"\n'
        'forwarded_allow_ips = ["127.0.0.1"]\n'
    )
    g.wait_for(r"web: starting -> running", timeout=30)
    stamp = {"X-Request-Start": f"t={time.time() - 5:.3f}"}
    for _ in range(3):
        assert stamped_get(web, "127.0.0.2", stamp) == 200
    wait_until(lambda: requests_status(g).get("p50_seconds") is not None, 20, "requests counted")
    assert requests_status(g)["wait_p99_seconds"] is None

    proxied = {**stamp, "X-Forwarded-For": "203.0.113.9"}
    assert stamped_get(web, "127.0.0.1", proxied) == 200

    def waited() -> float:
        return float(requests_status(g).get("wait_p99_seconds") or 0.0)

    wait_until(lambda: waited() >= 4.0, 20, "the trusted proxy's stamp recorded")
    assert g.stop() == 0
