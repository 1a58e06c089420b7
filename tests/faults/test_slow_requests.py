"""Slow requests and a blocked event loop, named in the app's log by real workers: a request
awaiting a dead upstream, a FastAPI `def` endpoint stuck in its thread, a WSGI view stuck in
its worker, a loop held by time.sleep. One record each, whole, with the waiting call; none
of the query string or headers; a flood gives a bounded number; cancel answers 504."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import FIXTURES, free_port, http_get, run_cli, wait_until

pytestmark = pytest.mark.timeout(120)

SECRET = "s3cr3t-in-query"
HEADER_SECRET = "s3cr3t-in-header"
HEADER = re.compile(r"^(slow request|blocked event loop): ")
FIXTURE = str(FIXTURES / "slow_app.py")

CONFIG = """
    [gaia]
    metrics = "127.0.0.1:{metrics}"

    [apps.web]
    app = "{target}"
    {server}
    workers = {workers}
    bind = "127.0.0.1:{port}"
    graceful_timeout = "1s"  # requests still hung are not waited for at the end
    {extra}
"""

ASGI = {
    "uvicorn": 'server = "uvicorn"',
    "gunicorn-uvicorn-worker": 'server = "gunicorn"',
    "gunicorn-asgi-worker": 'worker_class = "asgi"',
}


def fixture_line(text: str) -> int:
    """The line of the fixture app holding `text`: what the record must point at."""
    lines = Path(FIXTURE).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def records(workdir: Path, kind: str = "slow request") -> list[list[str]]:
    """The [slow] records of this kind in the app's log: each a header line and its stack
    lines. (A loaded machine may hold a loop for 200 ms now and then: a test of slow
    requests does not count blocked-loop records.)"""
    log = workdir / ".gaia" / "logs" / "web.log"
    found: list[list[str]] = []
    if not log.exists():
        return found
    for line in log.read_text(errors="replace").splitlines():
        rest = line.partition(" ")[2]
        if not rest.startswith("[slow] "):
            continue
        text = rest.removeprefix("[slow] ")
        if HEADER.match(text):
            found.append([text])
        else:
            assert found, f"a stack line before any record header: {line!r}"
            found[-1].append(text)
    return [record for record in found if record[0].startswith(f"{kind}: ")]


def whole_log(workdir: Path) -> str:
    return (workdir / ".gaia" / "logs" / "web.log").read_text(errors="replace")


@contextlib.contextmanager
def hanging(port: int, path: str, n: int = 1) -> Iterator[list[socket.socket]]:
    """n requests left in flight (with a secret in the query and a header) until the block
    ends: the client side of each stays open."""
    conns = []
    try:
        for _ in range(n):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(
                f"GET {path}?token={SECRET} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {HEADER_SECRET}\r\n\r\n".encode()
            )
            conns.append(conn)
        yield conns
    finally:
        for conn in conns:
            conn.close()


def status_json(workdir: Path, config: Path) -> dict[str, object]:
    out = run_cli("status", "--json", "-c", str(config), cwd=workdir)
    assert out.returncode == 0, out.stderr
    app: dict[str, object] = json.loads(out.stdout)["apps"][0]
    return app


def scraped(metrics: int, name: str) -> float | None:
    _, text = http_get(metrics, "/metrics")
    match = re.search(rf'^{name}\{{app="web"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else None


def start(gaia, target: str, server: str, extra: str = "", workers: int = 1):  # type: ignore[no-untyped-def]
    port, metrics = free_port(), free_port()
    text = CONFIG.format(
        metrics=metrics, target=target, server=server, workers=workers, port=port, extra=extra
    )
    g = gaia(text, env={"PYTHONPATH": str(FIXTURES)})
    g.wait_for(r"web: starting -> running", timeout=40)
    return g, port, metrics


def assert_one_record(  # type: ignore[no-untyped-def]
    g, waiting_line: str, *names: str, kind: str = "slow request"
) -> list[str]:
    wait_until(lambda: records(g.workdir, kind), 15, f"a {kind} record in the app's log")
    found = records(g.workdir, kind)
    assert len(found) == 1, found
    record = "\n".join(found[0])
    assert f'File "{FIXTURE}", line {fixture_line(waiting_line)}' in record, record
    for name in names:
        assert name in record, record
    log = whole_log(g.workdir)
    assert SECRET not in log and HEADER_SECRET not in log
    return found[0]


@pytest.mark.parametrize("kind", list(ASGI))
def test_an_await_on_a_dead_upstream_is_named_once(gaia, kind: str) -> None:
    g, port, metrics = start(gaia, "slow_app:app", ASGI[kind], 'slow_request = "1s"')
    with hanging(port, "/upstream"):
        record = assert_one_record(g, "return await reader.read(1)", "wait_for_upstream", "in app")
        assert record[0].startswith("slow request: GET /upstream in flight for 1."), record[0]
        wait_until(lambda: status_json(g.workdir, g.config_path)["slow_requests"] == 1, 15, "1")
        assert scraped(metrics, "gaia_slow_requests_total") == 1
        # Reported once, however long it stays in flight.
        wait_until(lambda: "slow request" in g.output(), 10, "shown on screen too")
        with contextlib.suppress(AssertionError):
            wait_until(lambda: len(records(g.workdir)) > 1, 2.5, "a second record")
        assert len(records(g.workdir)) == 1
    assert http_get(port, "/")[0] == 200
    assert g.stop() == 0


def test_a_loop_blocked_by_time_sleep_is_named_with_how_long(gaia) -> None:
    g, port, metrics = start(gaia, "slow_app:app", ASGI["uvicorn"], 'slow_request = "5s"')
    assert http_get(port, f"/block?token={SECRET}") == (200, "blocked")
    record = assert_one_record(g, "time.sleep(1)", "block_the_loop", kind="blocked event loop")
    lasted = re.match(r"blocked event loop: worker \d+'s loop did not run for (\S+)s", record[0])
    # From the heartbeat sent during the stretch: up to a watchdog period (or a late one) short.
    assert lasted is not None and 0.5 <= float(lasted.group(1)) < 5, record[0]
    wait_until(lambda: scraped(metrics, "gaia_blocked_loops_total") == 1, 15, "counted")
    assert scraped(metrics, "gaia_slow_requests_total") == 0
    assert status_json(g.workdir, g.config_path)["blocked_loops"] == 1
    assert g.stop() == 0


def test_a_fastapi_def_endpoint_is_named_in_its_thread(gaia) -> None:
    g, port, _ = start(gaia, "slow_app:fastapi_app", ASGI["uvicorn"], 'slow_request = "1s"')
    with hanging(port, f"/items/{SECRET}"):
        record = assert_one_record(g, "return conn.recv(1)", "stuck_in_thread", "-- in thread")
    # The route template, not the path with the token in it.
    assert record[0].startswith("slow request: GET /items/{item_id} in flight"), record[0]
    shown = run_cli("logs", "web", "--slow", "-n", "500", "-c", str(g.config_path), cwd=g.workdir)
    assert shown.returncode == 0, shown.stderr
    assert [line.split(" | [slow] ", 1)[1] for line in shown.stdout.splitlines()] == record
    assert g.stop() == 0


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_a_wsgi_view_is_named_in_its_worker_thread(gaia, worker: str) -> None:
    server = f'worker_class = "{worker}"' + ("\nthreads = 4" if worker == "gthread" else "")
    g, port, _ = start(gaia, "slow_app:application", server, 'slow_request = "1s"')
    with hanging(port, "/upstream"):
        record = assert_one_record(g, "return conn.recv(1)", "block_on_upstream", "application")
    assert record[0].startswith("slow request: GET /upstream in flight"), record[0]
    if worker == "gthread":
        assert http_get(port, "/")[0] == 200  # the other threads serve meanwhile
    assert g.stop() == 0


def test_a_flood_of_slow_requests_is_counted_whole_and_written_bounded(gaia) -> None:
    """50 requests on one dead upstream: all counted, written once per worker (the same
    wait); 50 on distinct paths: rate-limited, each record whole though two workers write
    at the same moment."""
    g, port, metrics = start(gaia, "slow_app:app", ASGI["uvicorn"], 'slow_request = "1s"', 2)
    with hanging(port, "/upstream", 50):
        wait_until(lambda: scraped(metrics, "gaia_slow_requests_total") == 50, 30, "50 counted")
    assert 1 <= len(records(g.workdir)) <= 2, records(g.workdir)
    with hanging(port, "/upstream", 0), contextlib.ExitStack() as stack:
        for i in range(50):
            stack.enter_context(hanging(port, f"/upstream/{i}"))
        wait_until(lambda: scraped(metrics, "gaia_slow_requests_total") == 100, 30, "100")
    found = records(g.workdir)
    # Per worker: a burst of 5, then 6 a minute; the first two were the same wait.
    assert 3 <= len(found) <= 2 + 2 * 5 + 2, len(found)
    depth = len(found[0])
    for record in found:
        assert len(record) == depth, record  # another worker's lines would change the shape
        assert record[0].startswith("slow request: GET /upstream"), record
        assert record[-1].strip() == "await self._waiter", record
    assert http_get(port, "/")[0] == 200
    assert g.stop() == 0


@pytest.mark.parametrize("kind", list(ASGI))
def test_cancel_answers_504_and_the_worker_keeps_serving(gaia, kind: str) -> None:
    g, port, metrics = start(
        gaia, "slow_app:app", ASGI[kind], 'slow_request = "1s"\nslow_request_action = "cancel"'
    )
    pid = http_get(port, "/pid")[1]
    status, body = http_get(port, f"/upstream?token={SECRET}", timeout=15)
    assert status == 504, body
    record = assert_one_record(g, "return await reader.read(1)", "wait_for_upstream")
    assert "cancelled: answered 504" in record[0], record[0]
    # A response under way is cut: the client sees the first part, then the connection end.
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and b"first part" in data, data
    assert not data.endswith(b"0\r\n\r\n"), data  # no final chunk: it was not completed
    assert http_get(port, "/pid") == (200, pid)
    wait_until(lambda: scraped(metrics, "gaia_slow_requests_total") == 2, 15, "both counted")
    assert g.stop() == 0
