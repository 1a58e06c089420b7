"""Request metrics against real servers: exact counts by status code, histogram buckets,
counters that survive a killed worker and a replace, and /metrics while an app is FATAL."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
from harness import free_port, http_get, run_cli, try_get, wait_until
from test_up import app_master

FAST_BACKOFF = 'backoff = { initial = "200ms", factor = 2, max = "1s", reset_after = "30s" }'
SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    status, text = http_get(port, "/metrics")
    assert status == 200
    samples: Samples = {}
    for line in text.splitlines():
        if match := SAMPLE.match(line):
            name, labels, value = match.groups()
            samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def requests_by_code(samples: Samples, app: str) -> dict[str, int]:
    out = {}
    for (name, labels), n in samples.items():
        tags = dict(labels)
        if name == "gaia_requests_total" and tags.get("app") == app:
            out[tags["code"]] = int(n)
    return out


def total(port: int, app: str) -> int:
    return sum(requests_by_code(scrape(port), app).values())


def wait_count(counted: Callable[[int], bool], seen: list[int], n: int, what: str) -> None:
    try:
        wait_until(lambda: counted(n), 10, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; counts seen: {seen[-5:]}") from None


def holds(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """The opposite of wait_until: `predicate` stays true for `seconds` (two flush intervals)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), what
        time.sleep(0.1)


def worker_pids(master: int) -> set[int]:
    """Live workers; a worker dying right now is skipped, not an error."""
    pids = set()
    for child in psutil.Process(master).children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                child.cmdline()
            ):
                pids.add(child.pid)
    return pids


def send(port: int, paths: list[str]) -> list[int]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda path: http_get(port, path)[0], paths))


MIX = ["/"] * 7 + ["/missing"] * 3 + ["/boom"] * 2 + ["/sleep"] * 2

SERVERS = {
    "uvicorn": ('server = "uvicorn"', "metrics_app:app"),
    "gunicorn-uvicorn-worker": ('server = "gunicorn"', "metrics_app:app"),
    "gunicorn-asgi-worker": ('worker_class = "asgi"', "metrics_app:app"),
    "gunicorn-sync-wsgi": ('worker_class = "sync"', "metrics_app:application"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(SERVERS))
def test_n_requests_counted_exactly_by_code_with_latency_buckets(gaia, kind: str) -> None:
    port, metrics = free_port(), free_port()
    server, target = SERVERS[kind]
    g = gaia(f"""
        [gaia]
        metrics = "127.0.0.1:{metrics}"

        [apps.web]
        app = "{target}"
        {server}
        workers = 2
        bind = "127.0.0.1:{port}"
    """)
    g.wait_for(r"web: starting -> running", timeout=20)
    statuses = send(port, MIX)
    assert sorted(statuses) == sorted([200] * 9 + [404] * 3 + [500] * 2)

    wait_until(lambda: total(metrics, "web") == len(MIX), 10, "all requests counted")
    holds(lambda: total(metrics, "web") == len(MIX), 1.2, "no request counted twice")
    samples = scrape(metrics)
    # gaia's own readiness probes are not the app's traffic and are not counted.
    assert requests_by_code(samples, "web") == {"200": 9, "404": 3, "500": 2}
    bucket = "gaia_request_duration_seconds_bucket"
    assert value(samples, bucket, app="web", le="0.1") == 12  # everything but the sleeps
    assert value(samples, bucket, app="web", le="0.25") == 14  # 200 ms: in (0.1, 0.25]
    assert value(samples, bucket, app="web", le="+Inf") == 14
    assert value(samples, "gaia_request_duration_seconds_count", app="web") == 14
    # Two 200 ms sleeps; uvloop's timers run on libuv's millisecond clock, cached per loop
    # iteration, so each may end up to a millisecond or so early.
    assert (value(samples, "gaia_request_duration_seconds_sum", app="web") or 0) >= 0.4 - 0.005
    assert value(samples, "gaia_app_up", app="web") == 1
    assert value(samples, "gaia_app_workers", app="web") == 2

    status = run_cli("status", "-c", str(g.config_path), cwd=g.workdir, env={"COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    header = next(line for line in status.stdout.splitlines() if line.startswith("app")).split()
    for column in ("req/s", "p50", "p99", "5xx"):
        assert column in header
    assert "14.3%" in status.stdout  # 2 of 14 requests were 5xx
    assert g.stop() == 0


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_counters_survive_a_killed_worker_and_a_replace(gaia, server: str) -> None:
    port, metrics = free_port(), free_port()
    config = """
        [gaia]
        metrics = "127.0.0.1:{metrics}"

        [apps.web]
        app = "metrics_app:app"
        server = "{server}"
        workers = 2
        bind = "127.0.0.1:{port}"
        env = {{ APP_VERSION = "{version}" }}
        {backoff}
    """
    g = gaia(
        config.format(metrics=metrics, server=server, port=port, version="v1", backoff=FAST_BACKOFF)
    )
    g.wait_for(r"web: starting -> running", timeout=20)
    seen: list[int] = []

    def counted(expected: int) -> bool:
        seen.append(total(metrics, "web"))
        return seen[-1] == expected

    send(port, ["/"] * 10)
    wait_count(counted, seen, 10, "10 requests counted")

    master = app_master(g.pid, "web")
    wait_until(lambda: len(worker_pids(master.pid)) == 2, 10, "2 workers")
    victim = int(http_get(port, "/pid")[1])
    send(port, ["/"] * 4)
    wait_count(counted, seen, 15, "15 requests counted")
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: len(w := worker_pids(master.pid)) == 2 and victim not in w,
        15,
        "a replacement worker",
    )
    wait_until(lambda: try_get(port), 10, "serving")
    send(port, ["/missing"] * 5)
    wait_count(counted, seen, 21, "the killed worker's counts kept")  # +1: the try_get

    mark = g.mark()
    g.write_config(
        config.format(metrics=metrics, server=server, port=port, version="v2", backoff=FAST_BACKOFF)
    )
    g.wait_for(r"web: generation 2 serving", start=mark, timeout=30)
    send(port, ["/"] * 5)
    wait_count(counted, seen, 26, "counts kept across the replace")
    samples = scrape(metrics)
    assert requests_by_code(samples, "web") == {"200": 21, "404": 5}
    assert seen == sorted(seen), "a counter went backwards"
    assert (value(samples, "gaia_app_cpu_seconds_total", app="web") or 0) > 0
    assert g.stop() == 0


@pytest.mark.timeout(60)
def test_endpoint_answers_while_an_app_is_fatal_and_metrics_false_is_not_measured(gaia) -> None:
    metrics, plain = free_port(), free_port()
    g = gaia(f"""
        [gaia]
        metrics = "127.0.0.1:{metrics}"

        [apps.broken]
        app = "broken:app"
        bind = "127.0.0.1:{free_port()}"
        max_start_failures = 2
        {FAST_BACKOFF}

        [apps.plain]
        app = "metrics_app:app"
        bind = "127.0.0.1:{plain}"
        metrics = false
    """)
    g.wait_for(r"broken: .*-> fatal", timeout=40)
    g.wait_for(r"plain: starting -> running", timeout=20)
    assert send(plain, ["/", "/missing"]) == [200, 404]
    samples = scrape(metrics)
    assert value(samples, "gaia_app_state", app="broken", state="fatal") == 1
    assert value(samples, "gaia_app_up", app="broken") == 0
    assert value(samples, "gaia_app_up", app="plain") == 1
    restarts = [
        n
        for (name, labels), n in samples.items()
        if name == "gaia_app_restarts_total" and ("app", "broken") in labels
    ]
    assert sum(restarts) >= 1
    # metrics = false: the app is not wrapped at all, so nothing is ever counted for it.
    generated = (g.workdir / ".gaia" / "run" / "plain.g1.gunicorn.py").read_text()
    assert "post_worker_init" not in generated
    holds(lambda: requests_by_code(scrape(metrics), "plain") == {}, 1.2, "plain not measured")
    assert http_get(metrics, "/other")[0] == 404
    assert g.stop() == 0


@pytest.mark.timeout(30)
def test_a_taken_metrics_address_starts_nothing(gaia) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        g = gaia(f"""
            [gaia]
            metrics = "127.0.0.1:{port}"

            [apps.web]
            app = "metrics_app:app"
            bind = "127.0.0.1:{free_port()}"
        """)
        assert g.wait(20) == 2
        assert f"cannot serve metrics on 127.0.0.1:{port}" in g.output()


@pytest.mark.timeout(60)
def test_openmetrics_and_gzip_when_asked_and_sub_millisecond_buckets(gaia) -> None:
    metrics, web = free_port(), free_port()
    app = f'app = "metrics_app:app"\nserver = "uvicorn"\nbind = "127.0.0.1:{web}"'
    g = gaia(f'[gaia]\nmetrics = "127.0.0.1:{metrics}"\n[apps.web]\n{app}\n')
    g.wait_for(r"web: starting -> running", timeout=30)
    assert send(web, ["/"] * 5) == [200] * 5
    wait_until(lambda: total(metrics, "web") == 5, 10, "5 requests counted")
    # Plain text unless asked: what every scraper understands.
    plain = scrape(metrics)
    assert value(plain, "gaia_request_duration_seconds_bucket", app="web", le="0.0005") is not None
    assert value(plain, "gaia_request_duration_seconds_bucket", app="web", le="60.0") == 5
    # Prometheus' own Accept: OpenMetrics, gzipped.
    conn = http.client.HTTPConnection("127.0.0.1", metrics, timeout=5)
    try:
        accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        conn.request("GET", "/metrics", headers={"Accept": accept, "Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("application/openmetrics-text")
    assert response.getheader("Content-Encoding") == "gzip"
    text = gzip.decompress(body).decode()
    assert text.rstrip().endswith("# EOF")
    assert 'gaia_requests_total{app="web",code="200"} 5.0' in text
    assert g.stop() == 0


def first_app_status(g) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The first app's object in `gaia status --json`; empty until gaia answers."""
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=g.workdir)
    apps = json.loads(done.stdout)["apps"] if done.returncode == 0 else []
    return dict(apps[0]) if apps else {}


@pytest.mark.timeout(90)
def test_the_accept_queue_of_a_saturated_sync_worker_is_in_the_status(gaia) -> None:
    """Latency measured inside the app stays at 200 ms; the clients' wait is in the queue."""
    web = free_port()
    app = f'app = "metrics_app:application"\nworker_class = "sync"\nbind = "127.0.0.1:{web}"'
    g = gaia(f"[apps.web]\n{app}\nworkers = 1\n")
    g.wait_for(r"web: starting -> running", timeout=30)

    def queued() -> int:
        return int(first_app_status(g).get("accept_queue") or 0)

    assert queued() == 0
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = pool.map(lambda _: try_get(web, "/sleep", timeout=30), range(20))
        wait_until(lambda: queued() >= 3, 20, "connections waiting in the accept queue")
        assert all(answer is not None and answer[0] == 200 for answer in answers)
    wait_until(lambda: queued() == 0, 20, "the queue drained")
    assert g.stop() == 0


@pytest.mark.timeout(90)
@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_an_asyncio_workers_loop_lag_is_in_the_status(gaia, server: str) -> None:
    """A handler that blocks the loop for 0.5 s delays every request behind it; the app's
    own latency of the others does not show it, the lag does."""
    web = free_port()
    g = gaia(f'[apps.web]\napp = "hello:app"\nserver = "{server}"\nbind = "127.0.0.1:{web}"\n')
    g.wait_for(r"web: starting -> running", timeout=30)

    def lag() -> float:
        requests = first_app_status(g).get("requests") or {}
        return float(requests.get("loop_lag_seconds") or 0.0)

    assert http_get(web, "/cpu?seconds=0.5")[0] == 200
    wait_until(lambda: lag() >= 0.3, 20, "the loop's lag in the status")
    assert g.stop() == 0
